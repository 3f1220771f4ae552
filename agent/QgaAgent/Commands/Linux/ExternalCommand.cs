using System.Diagnostics;

namespace QgaAgent.Commands.Linux;

/// <summary>Runs a helper like qemu-ga's fork+exec+waitpid: stdio to nowhere, the exit status back.</summary>
internal static class ExternalCommand
{
    /// <returns>The exit code, or null when the program could not be started.</returns>
    public static int? Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi);
            if (p is null) return null;
            p.StandardInput.Close();
            var drainOut = p.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
            var drainErr = p.StandardError.BaseStream.CopyToAsync(Stream.Null);
            p.WaitForExit();
            Task.WaitAll(drainOut, drainErr);
            return p.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
