using OpenTelemetry;
using OpenTelemetry.Metrics;
using QgaOrchestrator.Core.Telemetry;

namespace QgaOrchestrator.Bench;

/// <summary>
/// The QgaOrchestrator meter collected by the OpenTelemetry SDK as in qgaorchd (AddMeter on a MeterProvider), with
/// a reader exporting every second to nowhere but counting what it saw, so the bench pays the SDK's aggregation per
/// measurement and a periodic collection, like a Prometheus scrape.
/// </summary>
internal sealed class MetricsCollection : IDisposable
{
    private readonly MeterProvider _provider;
    private readonly CountingExporter _exporter = new();

    private MetricsCollection()
    {
        var builder = Sdk.CreateMeterProviderBuilder().AddMeter(QgaMetrics.MeterName);
        foreach (var name in QgaMetrics.PerVmInstruments) // as qgaorchd: per-VM series past the default limit of 2,000
            builder.AddView(name, new MetricStreamConfiguration { CardinalityLimit = QgaMetrics.PerVmCardinalityLimit });
        _provider = builder.AddReader(new PeriodicExportingMetricReader(_exporter, exportIntervalMilliseconds: 1000)).Build();
    }

    public static MetricsCollection Start() => new();

    public string Describe()
    {
        _provider.ForceFlush();
        return $"{_exporter.Exports} exports, last one {_exporter.Points} points ({_exporter.PerMetric}), qga.commands total {_exporter.Commands}";
    }

    public void Dispose() => _provider.Dispose();

    private sealed class CountingExporter : BaseExporter<Metric>
    {
        public int Exports;
        public int Points;
        public long Commands;
        public string PerMetric = "";

        public override ExportResult Export(in Batch<Metric> batch)
        {
            int points = 0;
            long commands = 0;
            var perMetric = new List<string>();
            foreach (var metric in batch)
            {
                var before = points;
                foreach (ref readonly var p in metric.GetMetricPoints())
                {
                    points++;
                    if (metric.Name == "qga.commands") commands += p.GetSumLong();
                }
                perMetric.Add($"{metric.Name} {points - before}");
            }
            (Exports, Points, Commands, PerMetric) = (Exports + 1, points, commands, string.Join(", ", perMetric));
            return ExportResult.Success;
        }
    }
}
