using System.Diagnostics;

namespace QgaOrchestrator.Vm.Tests.Infrastructure;

/// <summary>Runs short host commands (image build, qemu-img) and returns their exit code and output.</summary>
public static class Shell
{
    public sealed record Result(int ExitCode, string Output);

    public static Result Run(string command, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("/bin/sh", ["-c", command + " 2>&1"])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
        };
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return new Result(p.ExitCode, output);
    }
}
