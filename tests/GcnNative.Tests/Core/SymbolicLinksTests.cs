using GcnNative.IO;
using GcnNative.Tests.Data;
using NUnit.Framework;

namespace GcnNative.Tests.Core;

public class SymbolicLinksTests
{
    [Test]
    public void RealPathResolvesEveryLinkAlongThePath()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp["a/b"]);
        File.WriteAllText(tmp["a/b/f.txt"], "x");
        Directory.CreateSymbolicLink(tmp["dir"], "a");               // relative folder link
        File.CreateSymbolicLink(tmp["a/b/g.txt"], "f.txt");          // relative file link
        File.CreateSymbolicLink(tmp["chain"], tmp["dir/b/g.txt"]);    // a link through a linked folder to a link

        string real = SymbolicLinks.RealPath(tmp.Path);
        Assert.That(SymbolicLinks.RealPath(tmp["chain"]), Is.EqualTo(Path.Combine(real, "a", "b", "f.txt")));
        Assert.That(SymbolicLinks.RealPath(tmp["dir/b/../b/f.txt"]), Is.EqualTo(Path.Combine(real, "a", "b", "f.txt")));
        Assert.That(SymbolicLinks.RealPath(tmp["dir/new/name"]), Is.EqualTo(Path.Combine(real, "a", "new", "name")),
            "parts that do not exist are kept as written");
        Assert.That(SymbolicLinks.LeadsInside(tmp["a"], tmp["chain"]), Is.True);
        Assert.That(SymbolicLinks.LeadsInside(tmp["a/b"], tmp["a"]), Is.False);
        Assert.That(SymbolicLinks.LeadsInside(tmp["a"], tmp["a"]), Is.False, "the folder itself is not inside it");

        File.CreateSymbolicLink(tmp["loop1"], tmp["loop2"]);
        File.CreateSymbolicLink(tmp["loop2"], tmp["loop1"]);
        Assert.That(() => SymbolicLinks.RealPath(tmp["loop1"]), Throws.TypeOf<IOException>().With.Message.Contains("too many symbolic links"));
    }
}
