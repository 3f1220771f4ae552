using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using QgaOrchestrator.Core.Hosting;
using QgaOrchestrator.Core.Logging;
using QgaOrchestrator.Core.Persistence;
using QgaOrchestrator.Core.Sagas;
using QgaOrchestrator.Core.Snapshots;
using QgaOrchestrator.Core.Telemetry;
using QgaOrchestrator.Host.Api;
using QgaOrchestrator.Host.Configuration;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace QgaOrchestrator.Host;

/// <summary>
/// qgaorchd as a WebApplication: configuration (appsettings.json, fleet.json, QGAORCH_* environment,
/// command line) validated first, then Serilog, Akka (fleet, sagas, SQL journal), the HTTP API, health
/// and Prometheus metrics. Tests build it in-process exactly as <c>Program</c> does.
/// </summary>
public static class QgaHost
{
    public const string ConfigDirEnv = "QGAORCH_CONFIG_DIR";
    public const string EnvPrefix = "QGAORCH_";
    public const string SystemConfigDir = "/etc/qgaorch";

    /// <summary>The Meter the Core's instruments are created on (exported at /metrics).</summary>
    public const string MeterName = QgaOrchestrator.Core.Telemetry.QgaMetrics.MeterName;

    /// <summary>Exit code when the configuration is refused (sysexits EX_CONFIG; the unit does not restart on it).</summary>
    public const int ExitConfig = 78;
    public const int ExitFailure = 1;

    public static async Task<int> RunAsync(string[] args, TextWriter stderr)
    {
        WebApplication app;
        try
        {
            app = Build(args);
        }
        catch (ConfigProblemException e)
        {
            await stderr.WriteLineAsync($"qgaorchd: refusing to start: {e.Message}");
            return ExitConfig;
        }
        try
        {
            await app.RunAsync();
            return 0;
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            await stderr.WriteLineAsync($"qgaorchd: stopped: {e.Message}");
            Log.Fatal(e, "qgaorchd stopped");
            return ExitFailure;
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    /// <summary>Builds the service; throws <see cref="ConfigProblemException"/> for any setting it refuses.</summary>
    public static WebApplication Build(string[] args)
    {
        var (configDir, rest) = SplitConfigDir(args);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = rest,
            ApplicationName = "qgaorchd",
            // Not the config dir: the default sources would read its appsettings.json before we can report a broken one.
            ContentRootPath = AppContext.BaseDirectory,
        });
        LoadConfiguration(builder.Configuration, configDir, rest);
        var options = new ConfigLoader(builder.Configuration, configDir).Load();
        Directory.CreateDirectory(options.StateDir);
        var token = ApiToken.LoadOrCreate(options.TokenFile);

        var logger = CreateLogger(builder.Configuration, options);
        Log.Logger = logger; // Akka.Logger.Serilog writes through the static logger
        builder.Logging.ClearProviders();
        builder.Services.AddSerilog(logger, dispose: true);
        builder.Services.AddSystemd();
        builder.WebHost.UseUrls(options.Listen.ToString());
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(token);
        builder.Services.AddSingleton<Orchestrator>();
        builder.Services.AddProblemDetails();
        builder.Services.ConfigureHttpJsonOptions(j => ApiJson.Configure(j.SerializerOptions));
        builder.Services.AddOpenApi();
        builder.Services.AddOpenTelemetry().WithMetrics(m =>
        {
            m.AddMeter(MeterName);
            foreach (var name in QgaMetrics.PerVmInstruments) // vm × command × outcome passes the default limit of 2,000 series
                m.AddView(name, new MetricStreamConfiguration { CardinalityLimit = QgaMetrics.PerVmCardinalityLimit });
            m.AddPrometheusExporter();
        });
        builder.Services.AddAkka("qgaorchd", (akka, _) => ConfigureAkka(akka, options));

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseSerilogRequestLogging();
        app.UseMiddleware<ApiProblemMiddleware>();
        app.UseStatusCodePages();
        app.UseMiddleware<BearerTokenMiddleware>();
        app.MapOpenApi();
        app.MapHealthEndpoints();
        app.MapVmEndpoints();
        app.MapSagaEndpoints();
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }

    /// <summary><c>--config-dir DIR</c> (or QGAORCH_CONFIG_DIR, or /etc/qgaorch when present, else ./config).</summary>
    public static (string ConfigDir, string[] Remaining) SplitConfigDir(string[] args)
    {
        string? dir = null;
        var rest = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config-dir" && i + 1 < args.Length) dir = args[++i];
            else if (args[i].StartsWith("--config-dir=", StringComparison.Ordinal)) dir = args[i]["--config-dir=".Length..];
            else rest.Add(args[i]);
        }
        dir ??= Environment.GetEnvironmentVariable(ConfigDirEnv);
        dir ??= Directory.Exists(SystemConfigDir) ? SystemConfigDir : Path.Combine(Directory.GetCurrentDirectory(), "config");
        return (Path.GetFullPath(dir), rest.ToArray());
    }

    private static void LoadConfiguration(ConfigurationManager configuration, string configDir, string[] args)
    {
        configuration.Sources.Clear();
        var file = Path.Combine(configDir, "appsettings.json");
        try
        {
            configuration.AddJsonFile(file, optional: true, reloadOnChange: false);
        }
        catch (InvalidDataException e)
        {
            throw new ConfigProblemException($"{file}: not valid JSON: {e.InnerException?.Message ?? e.Message}");
        }
        configuration.AddEnvironmentVariables(EnvPrefix);
        configuration.AddCommandLine(args);
    }

    private static Serilog.Core.Logger CreateLogger(IConfiguration configuration, OrchestratorOptions options)
    {
        var lc = new LoggerConfiguration()
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
            .ReadFrom.Configuration(configuration) // "Serilog": { "MinimumLevel": ... } tunes levels
            .Enrich.FromLogContext()
            .WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {Message:lj} {Properties:j}{NewLine}{Exception}");
        if (options.LogFile.Length > 0)
            lc.WriteTo.File(new CompactJsonFormatter(), options.LogFile, rollingInterval: RollingInterval.Day,
                retainedFileCountLimit: 14, fileSizeLimitBytes: 100 * 1024 * 1024, rollOnFileSizeLimit: true);
        return lc.CreateLogger();
    }

    private static void ConfigureAkka(AkkaConfigurationBuilder akka, OrchestratorOptions options)
    {
        var journal = options.JournalProvider == "postgresql"
            ? SagaPersistence.PostgreSql(options.JournalConnectionString!)
            : SagaPersistence.Sqlite(options.StateDir);
        if (options.QmpOverlayDir is { } overlays) Directory.CreateDirectory(overlays);
        var saga = FreezeSnapshotThaw.Settings.Default with
        {
            RequestTimeout = options.RequestTimeout,
            DefaultDeadline = options.DefaultDeadline,
            Qmp = options.QmpOverlayDir is { } dir
                ? options.QmpOverlayTemplate is { } t ? new QmpSnapshotProvider(dir, t) : new QmpSnapshotProvider(dir)
                : null,
            Command = options.SnapshotCommand is { } c ? new CommandSnapshotProvider(c, options.SnapshotCommandPerVm, options.SnapshotCommandTimeout) : null,
        };
        // synchronous=NORMAL on each SQLite connection (WAL): survives a process crash, see SagaPersistence.SqliteSetup.
        if (options.JournalProvider != "postgresql") akka.AddSetup(SagaPersistence.SqliteSetup(options.StateDir));
        akka.AddHocon(journal, HoconAddMode.Prepend)
            .WithQgaSerilog()
            .WithQgaFleet(options.Vms)
            .WithQgaSagas(new SagaManager.Settings { Saga = saga, Power = PowerSaga.Settings.Default with { RequestTimeout = options.RequestTimeout } });
        if (options.Inventory is { } inventory) akka.WithQgaInventory(inventory);
    }
}
