using QgaOrchestrator.Core.Sagas;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.SagaCrashHost;

/// <summary>
/// <c>--state DIR --saga ID --vm ID=QGA_SOCKET... [--mode external|command] [--command TEMPLATE]
/// [--hold-thaw VM]... [--resume]</c>. <c>--resume</c> starts no saga: it only lets the manager recover the
/// journal and waits for the saga to end.
/// </summary>
internal sealed record CrashHostOptions(
    string StateDir, string SagaId, IReadOnlyList<VmConfig> Vms, SnapshotMode Mode, string? Command,
    IReadOnlySet<string> HoldThaw, bool Resume)
{
    public const string Usage = "usage: --state DIR --saga ID --vm ID=SOCKET... [--mode external|command] [--command TEMPLATE] [--hold-thaw VM]... [--resume]";

    public static CrashHostOptions Parse(IReadOnlyList<string> args)
    {
        string? state = null, saga = null, command = null;
        var vms = new List<VmConfig>();
        var hold = new HashSet<string>(StringComparer.Ordinal);
        var mode = SnapshotMode.External;
        var resume = false;
        for (int i = 0; i < args.Count; i++)
        {
            string Value() => ++i < args.Count ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value\n{Usage}");
            switch (args[i])
            {
                case "--state": state = Value(); break;
                case "--saga": saga = Value(); break;
                case "--command": command = Value(); break;
                case "--hold-thaw": hold.Add(Value()); break;
                case "--resume": resume = true; break;
                case "--mode": mode = Enum.Parse<SnapshotMode>(Value(), ignoreCase: true); break;
                case "--vm":
                    var kv = Value().Split('=', 2);
                    if (kv.Length != 2) throw new ArgumentException($"--vm wants ID=SOCKET\n{Usage}");
                    vms.Add(new VmConfig { Id = kv[0], QgaSocket = kv[1] });
                    break;
                default: throw new ArgumentException($"unknown argument {args[i]}\n{Usage}");
            }
        }
        if (state is null || saga is null || vms.Count == 0) throw new ArgumentException(Usage);
        if (mode == SnapshotMode.Command && command is null) throw new ArgumentException("--mode command needs --command");
        return new CrashHostOptions(state, saga, vms, mode, command, hold, resume);
    }
}
