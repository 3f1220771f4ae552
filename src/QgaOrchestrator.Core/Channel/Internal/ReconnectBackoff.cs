namespace QgaOrchestrator.Core.Channel.Internal;

/// <summary>INTERNAL API. Exponential reconnect delay with ±20% jitter, shared by the QGA and QMP channels.</summary>
internal static class ReconnectBackoff
{
    /// <param name="failures">Consecutive failures before this one (0 for the first).</param>
    public static TimeSpan Next(TimeSpan min, TimeSpan max, int failures)
    {
        var ms = Math.Min(max.TotalMilliseconds, min.TotalMilliseconds * Math.Pow(2, Math.Min(failures, 20)));
        return TimeSpan.FromMilliseconds(ms * (0.8 + (0.4 * Random.Shared.NextDouble())));
    }
}
