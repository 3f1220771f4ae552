using System.Text;
using System.Text.Json;

namespace QgaOrchestrator.Host.Configuration;

/// <summary>Finds the line of a member in a JSON (with comments) file, so config errors can point at it.</summary>
public static class JsonLineLocator
{
    /// <param name="path">Segments from the root: member names (case-insensitive) and array indexes.</param>
    /// <returns>The 1-based line of the deepest segment found, or null if the file cannot be read.</returns>
    public static int? Find(string file, IReadOnlyList<string> path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var frames = new List<Frame>();
        long best = -1;
        int bestDepth = 0;
        void Check(long offset)
        {
            if (frames.Count <= bestDepth || frames.Count > path.Count) return;
            for (int i = 0; i < frames.Count; i++)
                if (!string.Equals(frames[i].Segment, path[i], StringComparison.OrdinalIgnoreCase)) return;
            best = offset;
            bestDepth = frames.Count;
        }
        void NextArrayItem(long offset)
        {
            if (frames.Count == 0 || !frames[^1].IsArray) return;
            frames[^1].Segment = (frames[^1].Index++).ToString(System.Globalization.CultureInfo.InvariantCulture);
            Check(offset);
        }
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        frames[^1].Segment = reader.GetString();
                        Check(reader.TokenStartIndex);
                        break;
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        NextArrayItem(reader.TokenStartIndex);
                        frames.Add(new Frame { IsArray = reader.TokenType == JsonTokenType.StartArray });
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        frames.RemoveAt(frames.Count - 1);
                        break;
                    default:
                        NextArrayItem(reader.TokenStartIndex);
                        break;
                }
            }
        }
        catch (JsonException)
        {
            // A broken file: report the best line found so far.
        }
        return best < 0 ? null : LineOf(bytes, best);
    }

    private sealed class Frame
    {
        public bool IsArray { get; init; }
        public int Index { get; set; }
        public string? Segment { get; set; }
    }

    private static int LineOf(byte[] bytes, long offset)
    {
        int line = 1;
        for (long i = 0; i < offset && i < bytes.Length; i++)
            if (bytes[i] == (byte)'\n') line++;
        return line;
    }

    /// <summary><c>file:line: field: problem</c> (the line left out when it is not found).</summary>
    public static string Describe(string file, IReadOnlyList<string> path, string field, string problem)
    {
        var line = Find(file, path);
        var sb = new StringBuilder(file);
        if (line is { } l) sb.Append(':').Append(l);
        return sb.Append(": ").Append(field).Append(": ").Append(problem).ToString();
    }
}
