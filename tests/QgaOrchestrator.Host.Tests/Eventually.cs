namespace QgaOrchestrator.Host.Tests;

/// <summary>
/// Waits for a condition that is only visible through qgaorchd's HTTP API (agent connected, a metric scraped):
/// the API has no push for these, so this is the one place that polls, every 100 ms, up to a deadline.
/// </summary>
internal static class Eventually
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan within, Func<string> failure)
    {
        var deadline = DateTime.UtcNow + within;
        using var ticks = new PeriodicTimer(Interval);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException(failure());
            await ticks.WaitForNextTickAsync();
        }
    }
}
