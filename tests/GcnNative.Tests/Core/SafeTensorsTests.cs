using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using GcnNative.IO;
using NUnit.Framework;

namespace GcnNative.Tests.Core;

/// <summary>The safetensors reader/writer: round trip, byte layout, and every malformed-file error.</summary>
[TestFixture]
public class SafeTensorsTests
{
    private string _dir = "";

    [SetUp]
    public void CreateFolder()
    {
        _dir = Path.Combine(Path.GetTempPath(), "gcn-st-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void RemoveFolder()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static readonly (string, int[], float[])[] Sample =
    [
        ("a.weight", [2, 3], [1, -2, 3.5f, float.MaxValue, float.Epsilon, -0f]),
        ("b", [4], [0.1f, 0.2f, float.NegativeInfinity, 7]),
        ("scalar_like", [1], [42]),
    ];

    private string SaveSample(string name = "x.safetensors", Dictionary<string, string>? meta = null)
    {
        string path = Path.Combine(_dir, name);
        SafeTensors.Save(path, Sample, meta ?? new Dictionary<string, string> { ["format"] = "test", ["note"] = "{\"json\": [1]}" });
        return path;
    }

    [Test]
    public void RoundTripKeepsValuesShapesAndMetadata()
    {
        string path = SaveSample();
        var (tensors, meta) = SafeTensors.Load(path);
        Assert.That(tensors.Keys, Is.EquivalentTo(new[] { "a.weight", "b", "scalar_like" }));
        foreach (var (name, shape, data) in Sample)
        {
            Assert.That(tensors[name].Shape, Is.EqualTo(shape), name);
            // bit-exact, including -0, denormals and infinities
            Assert.That(tensors[name].Data.Select(BitConverter.SingleToInt32Bits),
                Is.EqualTo(data.Select(BitConverter.SingleToInt32Bits)), name);
        }
        Assert.That(meta, Is.EqualTo(new Dictionary<string, string> { ["format"] = "test", ["note"] = "{\"json\": [1]}" }));
    }

    [Test]
    public void HeaderLayout()
    {
        // [u64 LE header length][JSON header padded with spaces to 8][data, offsets relative to its start]
        string path = SaveSample();
        byte[] bytes = File.ReadAllBytes(path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.That(n % 8, Is.EqualTo(0UL), "header padded to a multiple of 8");
        string json = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.That(json.TrimEnd(' '), Does.StartWith("{").And.EndWith("}"));
        var header = JsonNode.Parse(json)!.AsObject();
        Assert.That(header["__metadata__"]!["format"]!.GetValue<string>(), Is.EqualTo("test"));

        // tensors are laid out in order: a (6 floats) at [0, 24), b at [24, 40), scalar at [40, 44)
        long[] Offsets(string name) => header[name]!["data_offsets"]!.AsArray().Select(v => v!.GetValue<long>()).ToArray();
        Assert.That(Offsets("a.weight"), Is.EqualTo(new long[] { 0, 24 }));
        Assert.That(Offsets("b"), Is.EqualTo(new long[] { 24, 40 }));
        Assert.That(Offsets("scalar_like"), Is.EqualTo(new long[] { 40, 44 }));
        Assert.That(header["b"]!["dtype"]!.GetValue<string>(), Is.EqualTo("F32"));
        Assert.That(header["a.weight"]!["shape"]!.AsArray().Select(v => v!.GetValue<int>()), Is.EqualTo(new[] { 2, 3 }));
        Assert.That(bytes.Length, Is.EqualTo(8 + (long)n + 44));

        // b[3] = 7 lives at data byte 24 + 12, little-endian
        float b3 = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + (int)n + 36));
        Assert.That(b3, Is.EqualTo(7f));
    }

    [Test]
    public void NoMetadataMeansNoMetadataEntry()
    {
        string path = Path.Combine(_dir, "m.safetensors");
        SafeTensors.Save(path, Sample);
        byte[] bytes = File.ReadAllBytes(path);
        string json = Encoding.UTF8.GetString(bytes, 8, (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        Assert.That(json, Does.Not.Contain("__metadata__"));
        Assert.That(SafeTensors.Load(path).Metadata, Is.Empty);
    }

    [Test]
    public void SaveRejectsDataThatDoesNotMatchTheShape()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            SafeTensors.Save(Path.Combine(_dir, "bad.safetensors"), [("w", [2, 2], [1f, 2f, 3f])]))!;
        Assert.That(e.Message, Does.Contain("'w'"));
        Assert.That(Directory.GetFiles(_dir), Is.Empty, "nothing written");
    }

    [Test]
    public void AtomicWriteLeavesNoTemporaryFile()
    {
        SaveSample("c.safetensors");
        SaveSample("c.safetensors"); // overwrite
        Assert.That(Directory.GetFiles(_dir).Select(Path.GetFileName), Is.EqualTo(new[] { "c.safetensors" }));
    }

    [Test]
    public void FailedWriteKeepsTheOldFileAndNoTemporary()
    {
        string path = SaveSample("keep.safetensors");
        byte[] before = File.ReadAllBytes(path);
        Assert.Throws<IOException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[100]);
            throw new IOException("disk full (simulated)");
        }));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
        Assert.That(Directory.GetFiles(_dir).Select(Path.GetFileName), Is.EqualTo(new[] { "keep.safetensors" }));
    }

    [Test]
    public void SaveCreatesTheFolder()
    {
        string path = Path.Combine(_dir, "sub", "deeper", "d.safetensors");
        SafeTensors.Save(path, Sample);
        Assert.That(SafeTensors.Load(path).Tensors, Has.Count.EqualTo(3));
    }

    // ---- malformed files --------------------------------------------------------------

    private void AssertInvalid(string path, string expectation)
    {
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path))!;
        Assert.That(e.Message, Does.Contain(path), "the message names the file");
        Assert.That(e.Message, Does.Contain(expectation));
    }

    private string WriteRaw(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Build(string headerJson, int dataBytes, ulong? headerLengthOverride = null)
    {
        byte[] json = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLengthOverride ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        return bytes;
    }

    [Test]
    public void TruncatedDataIsRejected()
    {
        string path = SaveSample();
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^3]);
        AssertInvalid(path, "data_offsets");
    }

    [Test]
    public void FileShorterThanTheLengthField()
    {
        AssertInvalid(WriteRaw("short.safetensors", [1, 2, 3]), "shorter than 8 bytes");
    }

    [TestCase(0UL)]
    [TestCase(1000UL)]
    [TestCase(ulong.MaxValue)]
    [TestCase((ulong)SafeTensors.MaxHeaderBytes + 8)]
    public void HeaderLengthThatDoesNotFit(ulong length)
    {
        var bytes = Build("{}", 16, length);
        AssertInvalid(WriteRaw("len.safetensors", bytes), "header length");
    }

    [Test]
    public void TruncatedHeaderIsRejected()
    {
        string path = SaveSample();
        byte[] bytes = File.ReadAllBytes(path);
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        File.WriteAllBytes(path, bytes[..(8 + n / 2)]);
        AssertInvalid(path, "header length");
    }

    [Test]
    public void HeaderThatIsNotJson()
    {
        AssertInvalid(WriteRaw("nj.safetensors", Build("{not json at all", 0)), "JSON");
        AssertInvalid(WriteRaw("arr.safetensors", Build("[1, 2, 3]", 0)), "JSON");
    }

    [TestCase("[0, 12]", "shape [2]", 16)]   // 3 floats of room for 2
    [TestCase("[4, 12]", "shape [2]", 8)]    // end past the data
    [TestCase("[-4, 4]", "shape [2]", 16)]   // negative start
    [TestCase("[0]", "shape [2]", 16)]       // one offset
    [TestCase("[8, 0]", "shape [2]", 16)]    // reversed
    public void WrongOffsetsAreRejected(string offsets, string _, int dataBytes)
    {
        string header = $"{{\"w\":{{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":{offsets}}}}}";
        AssertInvalid(WriteRaw("off.safetensors", Build(header, dataBytes)), "data_offsets");
    }

    [Test]
    public void OtherDtypeIsRejected()
    {
        string header = "{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}";
        AssertInvalid(WriteRaw("f16.safetensors", Build(header, 4)), "F16");
    }

    [TestCase("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}")]            // no shape
    [TestCase("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}")]                     // no offsets
    [TestCase("{\"w\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}")] // shape not an array
    [TestCase("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}")]  // negative dimension
    [TestCase("{\"w\":7}")]                                                       // not an object
    [TestCase("{\"w\":{\"dtype\":\"F32\",\"shape\":[null],\"data_offsets\":[0,8]}}")]  // null dimension
    [TestCase("{\"__metadata__\":{\"k\":1}}")]                                   // metadata value not a string
    public void MalformedTensorEntryIsInvalidData(string header)
    {
        AssertInvalid(WriteRaw("entry.safetensors", Build(header, 8)), "");
    }

    [Test]
    public void MissingFileIsAnIOErrorNamingThePath()
    {
        string path = Path.Combine(_dir, "absent.safetensors");
        var e = Assert.Throws<IOException>(() => SafeTensors.Load(path))!;
        Assert.That(e.Message, Does.Contain(path));
    }
}
