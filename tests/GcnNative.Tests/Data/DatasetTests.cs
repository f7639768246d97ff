using System.Text;
using GcnNative.Data;
using NUnit.Framework;
using static GcnNative.Tests.Data.DataTestUtil;

namespace GcnNative.Tests.Data;

public class DatasetTests
{
    [Test]
    public void Save_RemovesTemporariesOfAKilledSave_AndLeavesOtherFiles()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp["ds"]);
        File.WriteAllText(tmp["ds/.images.u8.1234.tmp"], "half");
        File.WriteAllText(tmp["ds/.notes.1234.tmp"], "not ours");
        Dataset.Save(tmp["ds"], TinyDataset());
        Assert.That(File.Exists(tmp["ds/.images.u8.1234.tmp"]), Is.False);
        Assert.That(File.ReadAllText(tmp["ds/.notes.1234.tmp"]), Is.EqualTo("not ours"));
        Assert.That(Dataset.Load(tmp["ds"]).Count, Is.EqualTo(TinyDataset().Count));
    }

    [Test]
    public void SaveLoad_RoundTripsEverything()
    {
        using var tmp = new TempDir();
        Dataset original = TinyDataset();
        Dataset.Save(tmp["ds"], original);
        Dataset loaded = Dataset.Load(tmp["ds"]);

        Assert.That((loaded.Name, loaded.Channels, loaded.Height, loaded.Width, loaded.Count), Is.EqualTo(("tiny", 1, 2, 3, 5)));
        Assert.That(loaded.Features.Select(f => f.Name + "=" + string.Join("|", f.Values)), Is.EqualTo(new[] { "shape=dot|bar", "size=s|m|l" }));
        Assert.That(loaded.Pixels, Is.EqualTo(original.Pixels));
        Assert.That(loaded.Labels, Is.EqualTo(original.Labels));
        Assert.That(loaded.Heldout.Text, Is.EqualTo(original.Heldout.Text), "user comments survive");
        Assert.That(loaded.HeldOutIndices(), Is.EqualTo(new[] { 1 }));
        Assert.That(loaded.TrainIndices(), Is.EqualTo(new[] { 0, 2, 3, 4 }));
        Assert.That(loaded.FindFeature("size"), Is.EqualTo(1));
        Assert.That(loaded.FindFeature("colour"), Is.EqualTo(-1));

        var img = new float[6];
        loaded.GetImage(2, img);
        Assert.That(img, Is.EqualTo(new[] { 96, 104, 112, 120, 128, 136 }.Select(v => v / 255f)));
        Assert.That(File.ReadAllText(tmp["ds/labels.csv"]), Does.StartWith("index,shape,size\n0,0,0\n1,1,2\n"));
        Assert.That(File.ReadAllText(tmp["ds/dataset.json"]), Does.Contain("\"format\": \"gcn-dataset-1\""));
    }

    [Test]
    public void Load_WithoutHeldoutFile_HoldsNothingOut()
    {
        using var tmp = new TempDir();
        Dataset.Save(tmp["ds"], TinyDataset());
        File.Delete(tmp["ds/heldout.csv"]);
        Assert.That(Dataset.Load(tmp["ds"]).HeldOutIndices(), Is.Empty);
    }

    [Test]
    public void AtomicWrite_FailingWriter_LeavesExistingFilesAndNoTemps()
    {
        using var tmp = new TempDir();
        Dataset.Save(tmp["ds"], TinyDataset());
        var before = Snapshot(tmp["ds"]);
        var ex = Assert.Throws<GcnDataException>(() => AtomicFiles.WriteAll(tmp["ds"], new (string, Action<Stream>)[]
        {
            ("images.u8", s => s.Write(new byte[10])),
            ("labels.csv", _ => throw new IOException("disk full")),
            ("dataset.json", s => s.WriteByte(1)),
        }));
        Assert.That(ex!.Message, Does.Contain("disk full").And.Contain("labels.csv"));
        AssertUnchanged(tmp["ds"], before);
    }

    [Test]
    public void Save_OntoAFile_IsAGcnDataException()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["taken"], "x");
        var ex = Assert.Throws<GcnDataException>(() => Dataset.Save(tmp["taken"], TinyDataset()));
        Assert.That(ex!.Message, Does.Contain("taken").And.Contain("could not write"));
    }

    [Test]
    public void Constructor_RejectsNamesThatCannotBeStored()
    {
        var bad = new[] { new DatasetFeature("a,b", new[] { "x" }) };
        var ex = Assert.Throws<GcnDataException>(() => new Dataset("d", 1, 1, 1, bad, new byte[1], new[] { new[] { 0 } }));
        Assert.That(ex!.Message, Does.Contain("feature name 'a,b'").And.Contain("comma"));
        var star = new[] { new DatasetFeature("f", new[] { "*" }) };
        Assert.Throws<GcnDataException>(() => new Dataset("d", 1, 1, 1, star, new byte[1], new[] { new[] { 0 } }));
        Assert.Throws<ArgumentException>(() => new Dataset("d", 1, 1, 1, new[] { new DatasetFeature("f", new[] { "x" }) }, new byte[2], new[] { new[] { 0 } }));
    }

    private static string Broken(Action<TempDir> damage, params string[] fragments)
    {
        using var tmp = new TempDir();
        Dataset.Save(tmp["ds"], TinyDataset());
        damage(tmp);
        var ex = Assert.Throws<GcnDataException>(() => Dataset.Load(tmp["ds"]));
        foreach (string f in fragments) Assert.That(ex!.Message, Does.Contain(f));
        Assert.That(ex!.Message, Does.Not.Contain("\n"));
        return ex.Message;
    }

    private static void EditJson(TempDir tmp, string from, string to)
    {
        string text = File.ReadAllText(tmp["ds/dataset.json"]);
        Assert.That(text, Does.Contain(from));
        File.WriteAllText(tmp["ds/dataset.json"], text.Replace(from, to));
    }

    [Test]
    public void Load_ReportsManifestProblems()
    {
        Broken(t => File.Delete(t["ds/dataset.json"]), "dataset.json", "not found");
        Broken(t => File.WriteAllText(t["ds/dataset.json"], "{ \"format\": "), "dataset.json", "not valid JSON");
        Broken(t => File.WriteAllText(t["ds/dataset.json"], "[1,2]"), "dataset.json", "expected a JSON object");
        Broken(t => EditJson(t, "\"count\": 5", "\"count\": 5, \"count\": 4"), "dataset.json: not valid JSON", "Duplicate property 'count'");
        Broken(t => EditJson(t, "gcn-dataset-1", "gcn-dataset-9"), "dataset.json", "field 'format'", "expected 'gcn-dataset-1'");
        Broken(t => EditJson(t, "\"channels\": 1,", ""), "dataset.json", "field 'channels' is missing", "integer");
        Broken(t => EditJson(t, "\"channels\": 1", "\"channels\": \"one\""), "dataset.json", "field 'channels' is the string \"one\"");
        Broken(t => EditJson(t, "\"height\": 2", "\"height\": -2"), "dataset.json", "field 'height' is -2", "1..65536");
        Broken(t => EditJson(t, "\"count\": 5", "\"count\": 5.5"), "dataset.json", "field 'count' is 5.5");
        Broken(t => EditJson(t, "\"name\": \"size\"", "\"title\": \"size\""), "dataset.json", "features[1]", "field 'name' is missing");
        Broken(t => EditJson(t, "\"m\"", "\"s\""), "dataset.json", "value 's' of feature 'size' appears twice");
    }

    [Test]
    public void Load_ReportsPixelAndLabelProblems()
    {
        Broken(t => File.WriteAllBytes(t["ds/images.u8"], new byte[29]), "images.u8", "has 29 bytes", "5 images of 1x2x3 (30 bytes)");
        Broken(t => File.Delete(t["ds/images.u8"]), "images.u8", "not found");
        // a link is measured by what it names, not by the link itself
        Broken(t =>
        {
            string target = t["ds/elsewhere.bin"];
            File.WriteAllBytes(target, new byte[31]);
            File.Delete(t["ds/images.u8"]);
            File.CreateSymbolicLink(t["ds/images.u8"], target);
        }, "images.u8", "has 31 bytes");
        Broken(t =>
        {
            File.Delete(t["ds/images.u8"]);
            File.CreateSymbolicLink(t["ds/images.u8"], t["ds/gone.bin"]);
        }, "images.u8: is a symbolic link to", "gone.bin, which is not a file");
        Broken(t =>
        {
            File.Delete(t["ds/labels.csv"]);
            Directory.CreateDirectory(t["ds/labels.csv"]);
        }, "labels.csv: is a folder, expected a header and 5 label rows");
        Broken(t => File.Delete(t["ds/labels.csv"]), "labels.csv", "not found");
        Broken(t => File.WriteAllText(t["ds/labels.csv"], "index,size,shape\n"), "labels.csv", "line 1", "expected 'index,shape,size'");
        Broken(t => File.WriteAllText(t["ds/labels.csv"], "index,shape,size\n0,0,0\n1,1,2\n"), "labels.csv", "has 2 label rows", "count 5");
        Broken(t => File.AppendAllText(t["ds/labels.csv"], "5,0,0\n"), "labels.csv", "line 7", "more label rows");
        Broken(t => File.WriteAllText(t["ds/labels.csv"], "index,shape,size\n0,0,0\n1,1,3\n2,0,1\n3,1,1\n4,0,2\n"),
            "labels.csv line 3, column 3 (size)", "is '3'", "0..2");
        Broken(t => File.WriteAllText(t["ds/labels.csv"], "index,shape,size\n0,0,0\n1,-1,2\n2,0,1\n3,1,1\n4,0,2\n"), "labels.csv line 3, column 2 (shape)");
        Broken(t => File.WriteAllText(t["ds/labels.csv"], "index,shape,size\n0,0,0\n2,1,2\n2,0,1\n3,1,1\n4,0,2\n"), "line 3, column 1 (index)", "expected 1");
        Broken(t => File.WriteAllText(t["ds/labels.csv"], "index,shape,size\n0,0\n"), "labels.csv line 2", "has 2 cells, expected 3");
        Broken(t => File.WriteAllText(t["ds/heldout.csv"], "shape,size\nbar,xl\n"), "heldout.csv line 2, column 2 (size)", "unknown value 'xl'");
    }
}

public class HeldoutSplitTests
{
    private static readonly DatasetFeature[] Features = MnistImporter.Features();

    [Test]
    public void Parse_CommentsBlankLinesSubsetHeaderAndWildcards()
    {
        string text = "# comment\n\n  # indented comment\r\ncolor , exemplar\r\nblue,*\n\n*,7\n";
        var split = HeldoutSplit.Parse(text, Features);
        Assert.That(split.Patterns, Has.Count.EqualTo(2));
        Assert.That(split.Patterns[0], Is.EqualTo(new[] { -1, -1, 2, -1 }));
        Assert.That(split.IsHeldOut(new[] { 3, 50, 2, 1 }), Is.True);
        Assert.That(split.IsHeldOut(new[] { 3, 7, 0, 0 }), Is.True);
        Assert.That(split.IsHeldOut(new[] { 3, 8, 1, 0 }), Is.False);
        Assert.That(split.Text, Is.EqualTo(text));
    }

    [Test]
    public void Parse_EmptyText_HoldsNothingOut()
    {
        var split = HeldoutSplit.Parse("# nothing here\n", Features);
        Assert.That(split.IsHeldOut(new[] { 0, 0, 0, 0 }), Is.False);
    }

    [TestCase("digit,colour\n", "line 1, column 2", "unknown feature 'colour'", "digit, exemplar, color, rotation")]
    [TestCase("digit,digit\n", "line 1, column 2", "appears twice")]
    [TestCase("# c\ndigit,color\n3,purple\n", "line 3, column 2 (color)", "unknown value 'purple'", "red, green, blue")]
    [TestCase("digit,exemplar\n3,100\n", "line 2, column 2 (exemplar)", "unknown value '100'", "(100 values)")]
    [TestCase("digit,color\n3\n", "line 2", "1 cells but the header has 2 columns")]
    [TestCase("digit,color\n3,red,*\n", "line 2", "3 cells")]
    public void Parse_Errors_NameFileLineAndColumn(string text, params string[] fragments)
    {
        var ex = Assert.Throws<GcnDataException>(() => HeldoutSplit.Parse(text, Features, "my/heldout.csv"));
        Assert.That(ex!.Message, Does.StartWith("my/heldout.csv line"));
        foreach (string f in fragments) Assert.That(ex.Message, Does.Contain(f));
    }

    [Test]
    public void IsHeldOut_WrongLabelCount_Throws() =>
        Assert.Throws<ArgumentException>(() => HeldoutSplit.Parse("digit\n1\n", Features).IsHeldOut(new[] { 1 }));

    [Test]
    public void MnistSplitText_ParsesTo350()
    {
        var split = HeldoutSplit.Parse(MnistImporter.HeldoutText(Features), Features);
        int count = 0;
        for (int d = 0; d < 10; d++) for (int e = 0; e < 100; e++) for (int c = 0; c < 3; c++) for (int r = 0; r < 4; r++)
            if (split.IsHeldOut(new[] { d, e, c, r })) count++;
        Assert.That(count, Is.EqualTo(350));
    }
}
