using System.Globalization;

namespace QgaOrchestrator.Core.Hosting;

/// <summary>
/// Durations as operators write them: <c>500ms</c>, <c>30s</c>, <c>2m</c>, <c>1h</c>, a bare number of
/// seconds, or a .NET TimeSpan (<c>00:00:30</c>). Shared by the API, the CLI and the config.
/// </summary>
public static class DurationText
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var t = text.Trim();
        (string number, double scale) = t switch
        {
            _ when t.EndsWith("ms", StringComparison.OrdinalIgnoreCase) => (t[..^2], 0.001),
            _ when t.EndsWith('s') || t.EndsWith('S') => (t[..^1], 1),
            _ when t.EndsWith('m') || t.EndsWith('M') => (t[..^1], 60),
            _ when t.EndsWith('h') || t.EndsWith('H') => (t[..^1], 3600),
            _ => (t, 1),
        };
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && double.IsFinite(n) && Math.Abs(n * scale) < TimeSpan.MaxValue.TotalSeconds)
        {
            value = TimeSpan.FromSeconds(n * scale);
            return true;
        }
        return TimeSpan.TryParse(t, CultureInfo.InvariantCulture, out value);
    }

    public static string Format(TimeSpan t) =>
        t.TotalSeconds >= 1 ? t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s"
                            : t.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + "ms";
}
