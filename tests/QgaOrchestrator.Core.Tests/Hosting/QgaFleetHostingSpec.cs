using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Hosting;
using QgaOrchestrator.Core.Tests.Fakes;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Core.Tests.Hosting;

/// <summary>
/// <c>WithQgaFleet</c> in a real Akka.Hosting service provider (its hosted service started by hand:
/// Akka.Hosting.TestKit 1.5.74 targets xunit v3, this project xunit 2).
/// </summary>
public sealed class QgaFleetHostingSpec
{
    [Fact]
    public async Task WithQgaFleet_must_start_the_fleet_from_the_file_and_register_it()
    {
        await using var agent = new FakeGuestAgent();
        var file = Path.Combine(Path.GetDirectoryName(agent.SocketPath)!, "fleet.json");
        await File.WriteAllTextAsync(file, $$"""{ "vms": [ { "id": "hosted-01", "qgaSocket": "{{agent.SocketPath}}" } ] }""");

        var services = NewServices();
        services.AddAkka("hosting-spec", b => b.AddHocon("akka.loglevel = WARNING", HoconAddMode.Prepend).WithQgaFleet(file));
        await using var provider = services.BuildServiceProvider();
        var hosted = provider.GetServices<IHostedService>().ToList();
        foreach (var h in hosted) await h.StartAsync(CancellationToken.None);
        try
        {
            var fleet = await provider.GetRequiredService<ActorRegistry>().GetAsync<FleetManagerKey>();
            Assert.Equal("/user/fleet", fleet.Path.ToStringWithoutAddress());
            var configs = await fleet.Ask<FleetManager.Configs>(r => new FleetManager.GetConfigs(r), TimeSpan.FromSeconds(5), CancellationToken.None);
            Assert.Equal("hosted-01", Assert.Single(configs.Vms).Id);
            var reply = await fleet.Ask<Vm.Executed>(r => TestSupport.Ping("hosted-01", "p", r, TimeSpan.FromSeconds(5)), TimeSpan.FromSeconds(10), CancellationToken.None);
            Assert.True(reply.Succeeded, reply.ToString());
            Assert.Same(fleet, provider.GetRequiredService<IRequiredActor<FleetManagerKey>>().ActorRef);
        }
        finally
        {
            foreach (var h in hosted) await h.StopAsync(CancellationToken.None);
        }
    }

    private static ServiceCollection NewServices()
    {
        var services = new ServiceCollection();
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton<IHostApplicationLifetime, Lifetime>();
        return services;
    }

    private sealed class Lifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;
        public CancellationToken ApplicationStopping => CancellationToken.None;
        public CancellationToken ApplicationStopped => CancellationToken.None;
        public void StopApplication() { }
    }

    [Fact]
    public void WithQgaFleet_must_fail_startup_naming_the_bad_entry()
    {
        var dir = Directory.CreateTempSubdirectory("fleet-").FullName;
        try
        {
            var bad = Path.Combine(dir, "bad.json");
            File.WriteAllText(bad, """{ "vms": [ { "id": "x", "qgaSocket": "" } ] }""");
            var services = NewServices();
            services.AddAkka("bad", b => b.WithQgaFleet(bad));
            using var provider = services.BuildServiceProvider();
            var e = Record.Exception(() => provider.GetRequiredService<ActorSystem>());
            while (e is not null and not FleetConfigException) e = e.InnerException;
            Assert.IsType<FleetConfigException>(e);
            Assert.Contains("vms[0] (id 'x')", e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
