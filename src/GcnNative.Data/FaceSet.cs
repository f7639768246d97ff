using System.Diagnostics;
using System.Globalization;

namespace GcnNative.Data;

/// <summary>
/// The built-in procedural face set (spec section 5.2): drawn faces with the structure of KDEF,
/// identity x emotion x transformation, so the faces experiment and its held-out ground truth
/// exist on every machine without shipping any photograph.
/// </summary>
/// <remarks>
/// <para>Each person (<c>p00</c>, <c>p01</c>, ...) has stable traits drawn from the seed: face
/// width, length and jaw, skin tone, hair style (short, long, bob, side part, receding, curly,
/// bun) and hair colour, eye spacing and size, iris colour, brow thickness and arch, nose length
/// and width, mouth width and lip thickness, ear size. No two people share hair style, hair
/// colour and skin tone all at once (up to 560 people).</para>
/// <para>Each emotion moves brows, eyes and mouth the same way for everyone: neutral; aversion
/// (brows lowered and angled in, eyes narrowed, nose wrinkled, mouth curved down with the
/// upper lip raised on the image-left side); happiness (open smile with teeth, corners up,
/// raised cheeks, eyes narrowed into crescents, smile lines); surprise (brows high and arched,
/// eyes wide with white around the iris, round open mouth); optionally fear (brows raised and
/// drawn up in the middle, eyes wide, mouth stretched open), anger (brows low in a V, lids
/// lowered at the inner corner, lips pressed thin) and sadness (brow inner ends up, lids
/// drooping outward, corners down).</para>
/// <para>Light comes from the upper left and the hair of side-part styles is parted on the left,
/// so mirrored and rotated versions differ from each other. Each (person, emotion) is drawn once,
/// upright, with anti-aliased signed-distance shapes on a fixed neutral background; the eight
/// transformations (<see cref="FaceTransforms"/>) are exact pixel rotations/mirrors of it.
/// Output is identical for the same arguments on every run (own SplitMix64 generator).</para>
/// <para>Image order: index = (person * emotions + emotion) * 8 + transformation.</para>
/// </remarks>
public static class FaceSet
{
    /// <summary>Dataset name written to <c>dataset.json</c>.</summary>
    public const string DatasetName = "faces";
    /// <summary>The paper's four emotions (KDEF NE, DI, HA, SU), in feature order.</summary>
    public static readonly IReadOnlyList<string> DefaultEmotions = new[] { "neutral", "aversion", "happiness", "surprise" };
    /// <summary>Every emotion the generator can draw (KDEF's seven).</summary>
    public static readonly IReadOnlyList<string> AllEmotions = new[] { "neutral", "aversion", "happiness", "surprise", "fear", "anger", "sadness" };

    /// <summary>
    /// Generates the face set and saves it to <paramref name="outDir"/> (atomically, see
    /// <see cref="Dataset.Save"/>), with the default held-out split (<see cref="HeldoutText"/>).
    /// </summary>
    /// <param name="outDir">Dataset folder to write.</param>
    /// <param name="people">Number of identities, 1..1000 (names p00.. or p000..).</param>
    /// <param name="size">Image side in pixels, 16..1024.</param>
    /// <param name="seed">Seed of the identities' traits.</param>
    /// <param name="log">Receives a one-line summary; may be null.</param>
    /// <param name="emotions">Emotion names from <see cref="AllEmotions"/>, in feature order; default <see cref="DefaultEmotions"/>.</param>
    /// <exception cref="GcnDataException">Bad arguments or the folder cannot be written.</exception>
    public static Dataset Generate(string outDir, int people = 70, int size = 158, int seed = 1,
        TextWriter? log = null, IReadOnlyList<string>? emotions = null)
    {
        var watch = Stopwatch.StartNew();
        Dataset dataset = Build(people, size, seed, emotions);
        Dataset.Save(outDir, dataset);
        string preview = Path.Combine(outDir, PreviewFile);
        SavePreview(preview, dataset);
        log?.WriteLine($"faces: wrote {dataset.Count} images {dataset.Channels}x{dataset.Height}x{dataset.Width} " +
            $"({string.Join(", ", dataset.Features.Select(f => $"{f.Name} {f.Count}"))}), seed {seed}, " +
            $"{dataset.HeldOutIndices().Length} held out, to {Path.GetFullPath(outDir)} in {watch.Elapsed.TotalSeconds:F1} s; " +
            $"preview (people x emotions): {preview}");
        return dataset;
    }

    /// <summary>The picture <see cref="Generate"/> writes beside the data: one row per person (the first 8), one column per emotion, upright.</summary>
    public const string PreviewFile = "preview.png";

    private static void SavePreview(string path, Dataset dataset)
    {
        int emotions = dataset.Features[1].Count, people = Math.Min(8, dataset.Features[0].Count);
        int t8 = FaceTransforms.Names.Count, len = dataset.ImageSize;
        var cells = new float[people * emotions * len];
        for (int p = 0; p < people; p++)
            for (int e = 0; e < emotions; e++)
                dataset.GetImage((p * emotions + e) * t8, cells.AsSpan((p * emotions + e) * len, len));
        ImageIO.SaveGridPng(path, cells, dataset.Channels, dataset.Height, dataset.Width, emotions);
    }

    /// <summary>Builds the face set in memory (see <see cref="Generate"/>); nothing is written.</summary>
    public static Dataset Build(int people = 70, int size = 158, int seed = 1, IReadOnlyList<string>? emotions = null)
    {
        if (people < 1 || people > 1000)
            throw new GcnDataException($"faces: people is {people}, expected 1..1000");
        if (size < 16 || size > 1024)
            throw new GcnDataException($"faces: size is {size}, expected 16..1024 pixels");
        string[] emo = CheckEmotions(emotions ?? DefaultEmotions);
        var features = Features(people, emo);
        var identities = FaceIdentity.Create(people, seed);
        var expressions = emo.Select(name => FaceExpression.All[name]).ToArray();

        int t8 = FaceTransforms.Names.Count, imageSize = 3 * size * size;
        int count = people * emo.Length * t8;
        var pixels = new byte[(long)count * imageSize];
        var labels = new int[count][];
        Parallel.For(0, people * emo.Length, pe =>
        {
            int p = pe / emo.Length, e = pe % emo.Length;
            var raster = new FaceRaster(size, FaceDrawing.Background, FaceDrawing.View, FaceDrawing.ViewCenterY);
            FaceDrawing.Draw(raster, identities[p], expressions[e]);
            var upright = new byte[imageSize];
            raster.CopyTo(upright);
            for (int t = 0; t < t8; t++)
            {
                int index = pe * t8 + t;
                FaceTransforms.Apply(upright, pixels.AsSpan(index * imageSize, imageSize), 3, size, t);
                labels[index] = new[] { p, e, t };
            }
        });
        return new Dataset(DatasetName, 3, size, size, features, pixels, labels,
            HeldoutSplit.Parse(HeldoutText(features), features));
    }

    /// <summary>The features: identity (p00..), emotion (as given), transformation (<see cref="FaceTransforms.Names"/>).</summary>
    public static DatasetFeature[] Features(int people, IReadOnlyList<string> emotions)
    {
        int digits = Math.Max(2, (people - 1).ToString(CultureInfo.InvariantCulture).Length);
        return new[]
        {
            new DatasetFeature("identity", Enumerable.Range(0, people).Select(p => "p" + p.ToString("D" + digits, CultureInfo.InvariantCulture))),
            new DatasetFeature("emotion", emotions),
            new DatasetFeature("transformation", FaceTransforms.Names),
        };
    }

    private static string[] CheckEmotions(IReadOnlyList<string> emotions)
    {
        if (emotions.Count == 0)
            throw new GcnDataException($"faces: no emotions given, expected some of {string.Join(", ", AllEmotions)}");
        var result = new List<string>();
        foreach (string raw in emotions)
        {
            string name = (raw ?? "").Trim().ToLowerInvariant();
            if (!FaceExpression.All.ContainsKey(name))
                throw new GcnDataException($"faces: unknown emotion '{raw}', expected some of {string.Join(", ", AllEmotions)}");
            if (result.Contains(name))
                throw new GcnDataException($"faces: emotion '{name}' is listed twice");
            result.Add(name);
        }
        return result.ToArray();
    }

    /// <summary>
    /// The default held-out split for a faces-shaped dataset (built-in or KDEF) as heldout.csv text.
    /// Needs features named <c>identity</c>, <c>emotion</c> and <c>transformation</c> (8 values as in
    /// <see cref="FaceTransforms.Names"/>); any other feature is matched with <c>*</c>.
    /// </summary>
    /// <remarks>
    /// Rule: n = min(10, people / 2) people, the i-th (i = 0..n-1) being identity number
    /// floor(i * people / n). The first ceil(n/2) miss one whole emotion, all transformations
    /// (high-level unseen combination): emotion 1 + (i mod (E-1)), never the first one
    /// (neutral), so a neutral face of them is always seen. The others miss four of the eight
    /// transformations of emotion (i mod E) (low-level unseen combination): r90 r270 m0 m180 for
    /// even i, r0 r180 m90 m270 for odd i. With a single emotion everyone uses the second rule.
    /// </remarks>
    public static string HeldoutText(IReadOnlyList<DatasetFeature> features)
    {
        int fi = IndexOf(features, "identity"), fe = IndexOf(features, "emotion"), ft = IndexOf(features, "transformation");
        DatasetFeature id = features[fi], em = features[fe], tr = features[ft];
        int people = id.Count, emotions = em.Count;
        int n = Math.Min(10, people / 2), whole = emotions > 1 ? (n + 1) / 2 : 0;
        var even = new[] { "r90", "r270", "m0", "m180" };
        var odd = new[] { "r0", "r180", "m90", "m270" };
        var rows = new List<string[]>();
        string[] Row(string person, string emotion, string transformation)
        {
            var row = Enumerable.Repeat(HeldoutSplit.Wildcard, features.Count).ToArray();
            row[fi] = person;
            row[fe] = emotion;
            row[ft] = transformation;
            return row;
        }
        int heldImages = 0;
        for (int i = 0; i < n; i++)
        {
            string person = id.Values[i * people / n];
            if (i < whole)
            {
                rows.Add(Row(person, em.Values[1 + i % (emotions - 1)], HeldoutSplit.Wildcard));
                heldImages += tr.Count;
            }
            else
                foreach (string t in i % 2 == 0 ? even : odd)
                {
                    rows.Add(Row(person, em.Values[i % emotions], t));
                    heldImages++;
                }
        }
        return HeldoutSplit.Format(features, rows, new[]
        {
            "Held-out split (GCN spec sections 5.2 and 6). Edit freely: an image is held out when it",
            "matches any row below; '*' matches any value.",
            $"Rule: n = min(10, people/2) = {n} people, the i-th being identity number floor(i*people/n).",
            $"The first {whole} miss one whole emotion in every transformation (high-level unseen",
            "combination), emotion 1 + (i mod (emotions-1)), never the first. The others miss four of the",
            "eight transformations of emotion (i mod emotions) (low-level unseen combination):",
            "r90 r270 m0 m180 for even i, r0 r180 m90 m270 for odd i.",
            $"That is {heldImages} (person, emotion, transformation) combinations.",
        });
    }

    private static int IndexOf(IReadOnlyList<DatasetFeature> features, string name)
    {
        for (int i = 0; i < features.Count; i++)
            if (features[i].Name == name) return i;
        throw new ArgumentException($"features have no '{name}'", nameof(features));
    }
}
