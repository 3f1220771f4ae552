using System.Security.Cryptography;
using System.Text;

namespace QgaOrchestrator.Vm.Tests.Infrastructure;

/// <summary>
/// The guest image (kernel + initramfs with our agent) from tools/vm/build-guest-image.sh, built once
/// and cached under artifacts/vm-image/HASH, where HASH covers every input: the agent binary, the
/// build script, the kernel and busybox. A changed agent gets a new image; an unchanged one is reused;
/// older images beyond the newest other one are deleted when a new one is built.
/// </summary>
public static class GuestImage
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _dir;

    public static async Task<string> GetAsync()
    {
        await Gate.WaitAsync();
        try
        {
            return _dir ??= await Task.Run(Build);
        }
        finally
        {
            Gate.Release();
        }
    }

    private static string Build()
    {
        var root = Path.Combine(VmRequirements.RepoRoot, "artifacts", "vm-image");
        var dir = Path.Combine(root, InputHash());
        if (File.Exists(Path.Combine(dir, "initrd.gz")) && File.Exists(Path.Combine(dir, "vmlinuz"))) return dir;
        Directory.CreateDirectory(root);
        // Build beside the cache and rename: a concurrent or interrupted build never leaves half an image.
        var building = Path.Combine(root, $"building-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var script = Path.Combine(VmRequirements.ToolsDir, "build-guest-image.sh");
        var result = Shell.Run($"bash '{script}' '{building}' '{VmRequirements.AgentBinary}'");
        if (result.ExitCode != 0)
        {
            if (Directory.Exists(building)) Directory.Delete(building, true);
            throw new InvalidOperationException($"build-guest-image.sh failed ({result.ExitCode}): {result.Output}");
        }
        try
        {
            Directory.Move(building, dir);
        }
        catch (IOException) when (File.Exists(Path.Combine(dir, "initrd.gz")))
        {
            Directory.Delete(building, true); // another test process won the race with the same inputs
        }
        PruneOlderImages(root, dir);
        return dir;
    }

    /// <summary>Each agent build makes a new image (~20 MB); keep this one and the newest other, delete the rest.</summary>
    private static void PruneOlderImages(string root, string current)
    {
        var older = new DirectoryInfo(root).GetDirectories()
            .Where(d => d.FullName != current && !d.Name.StartsWith("building-", StringComparison.Ordinal))
            .OrderByDescending(d => d.LastWriteTimeUtc)
            .Skip(1);
        foreach (var d in older)
        {
            try { d.Delete(true); }
            catch (IOException) { } // in use by a concurrent run: the next build prunes it
            catch (UnauthorizedAccessException) { }
        }
    }

    private static string InputHash()
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(File.ReadAllBytes(VmRequirements.AgentBinary));
        sha.AppendData(File.ReadAllBytes(Path.Combine(VmRequirements.ToolsDir, "build-guest-image.sh")));
        foreach (var file in Directory.GetFiles("/boot", "vmlinuz-*").Order(StringComparer.Ordinal).Append(VmRequirements.OnPath("busybox")!))
        {
            var info = new FileInfo(file);
            sha.AppendData(Encoding.UTF8.GetBytes($"{file}:{info.Length}:{info.LastWriteTimeUtc.Ticks};"));
        }
        return Convert.ToHexString(sha.GetHashAndReset())[..16].ToLowerInvariant();
    }
}
