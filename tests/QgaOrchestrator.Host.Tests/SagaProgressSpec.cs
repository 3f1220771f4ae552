using System.Globalization;
using System.Text.Json;
using QgaOrchestrator.Cli;
using QgaOrchestrator.Cli.Output;

namespace QgaOrchestrator.Host.Tests;

/// <summary>The piped (plain-line) saga progress: server times, and VM lines before the phase they caused.</summary>
public sealed class SagaProgressSpec
{
    private static string Local(string iso) =>
        DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture).ToLocalTime().ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    /// <summary>Progress as `qgaorch … --wait | cat` shows it: plain lines, no redraw.</summary>
    private static (SagaProgress Progress, StringWriter Output) Piped()
    {
        var output = new StringWriter();
        return (new SagaProgress(new CliContext
        {
            Out = output, Err = TextWriter.Null, AsJson = false, Interactive = false,
            ServerUrl = new Uri("http://127.0.0.1:1"), TokenPath = "/nonexistent",
        }), output);
    }

    [Fact]
    public void SagaProgress_must_print_the_servers_times_and_a_vm_step_before_the_phase_it_ended()
    {
        var (progress, output) = Piped();
        // The state replayed on connect has no event time: each VM line takes its own timestamp.
        progress.Show("state", Json("""
            { "id": "s1", "phase": "snapshotting", "startedAt": "2026-01-01T10:00:00.100+00:00", "vms": [
              { "vmId": "a", "step": "frozen", "freezeStartedAt": "2026-01-01T10:00:00.200+00:00", "frozenAt": "2026-01-01T10:00:00.250+00:00" },
              { "vmId": "b", "step": "freezing", "freezeStartedAt": "2026-01-01T10:00:00.200+00:00" } ] }
            """));
        progress.Show("progress", Json("""
            { "event": "VmThawed", "vmId": "a", "at": "2026-01-01T10:00:00.400+00:00", "saga": { "id": "s1", "phase": "ended", "outcome": "completed", "vms": [
              { "vmId": "a", "step": "thawed", "thawedAt": "2026-01-01T10:00:00.400+00:00" },
              { "vmId": "b", "step": "freezing", "freezeStartedAt": "2026-01-01T10:00:00.200+00:00" } ] } }
            """));

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(
        [
            $"{Local("2026-01-01T10:00:00.200+00:00")} b freezing",
            $"{Local("2026-01-01T10:00:00.250+00:00")} a frozen",
            $"{Local("2026-01-01T10:00:00.250+00:00")} saga s1 snapshotting",
            $"{Local("2026-01-01T10:00:00.400+00:00")} a thawed",
            $"{Local("2026-01-01T10:00:00.400+00:00")} saga s1 ended: completed",
        ], lines);
    }

    [Fact]
    public void SagaProgress_must_date_a_power_command_by_when_it_was_sent()
    {
        var (progress, output) = Piped();
        progress.Show("state", Json("""
            { "id": "p1", "phase": "running", "startedAt": "2026-01-01T10:00:00.100+00:00", "vms": [
              { "vmId": "a", "step": "sent", "sentAt": "2026-01-01T10:00:00.150+00:00" },
              { "vmId": "b", "step": "checking" } ] }
            """));

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(
        [
            $"{Local("2026-01-01T10:00:00.100+00:00")} b checking",
            $"{Local("2026-01-01T10:00:00.150+00:00")} a sent",
            $"{Local("2026-01-01T10:00:00.150+00:00")} saga p1 running",
        ], lines);
    }
}
