using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using QgaOrchestrator.Core.Telemetry;

namespace QgaOrchestrator.Core.Tests.Telemetry;

/// <summary>Collects every QgaOrchestrator measurement while alive (other specs run in parallel: filter by tags).</summary>
public sealed class MetricsRecorder : IDisposable
{
    public sealed record Measurement(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags)
    {
        public string? Tag(string key) => Tags.TryGetValue(key, out var v) ? v?.ToString() : null;
    }

    private readonly MeterListener _listener = new();

    public ConcurrentQueue<Measurement> Measurements { get; } = new();

    public MetricsRecorder()
    {
        _listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == QgaMetrics.MeterName) l.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
        _listener.Start();
    }

    private void Add(Instrument i, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var d = new Dictionary<string, object?>();
        foreach (var t in tags) d[t.Key] = t.Value;
        Measurements.Enqueue(new Measurement(i.Name, value, d));
    }

    public IReadOnlyList<Measurement> Of(string instrument, string tag, string value) =>
        Measurements.Where(m => m.Instrument == instrument && m.Tag(tag) == value).ToList();

    public void Dispose() => _listener.Dispose();
}
