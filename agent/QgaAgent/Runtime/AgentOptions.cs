using System.Globalization;
using System.Text;

namespace QgaAgent.Runtime;

/// <summary>The effective configuration: qemu-ga's keys plus our freeze-timeout and fsfreeze-mountpoints.</summary>
internal sealed record AgentOptions
{
    public const string DefaultVirtioPath = "/dev/virtio-ports/org.qemu.guest_agent.0";
    public const string DefaultIsaPath = "/dev/ttyS0";
    public const string DefaultConfigFile = "/etc/qemu/qemu-ga.conf";
    public const string DefaultHook = "/etc/qemu/fsfreeze-hook";
    public const string DefaultStateDir = "/var/run";
    public const string DefaultPidFile = "/var/run/qemu-ga.pid";

    public string Method { get; init; } = "virtio-serial";
    public string? Path { get; init; }
    public string? LogFile { get; init; }
    public string PidFile { get; init; } = DefaultPidFile;
    /// <summary>qemu-ga writes its pid file only when daemonizing; we write it when one is named explicitly.</summary>
    public bool PidFileGiven { get; init; }
    public string? FsfreezeHook { get; init; }
    public string StateDir { get; init; } = DefaultStateDir;
    public bool Verbose { get; init; }
    public bool RetryPath { get; init; }
    public bool Daemonize { get; init; }
    public IReadOnlyList<string> BlockRpcs { get; init; } = [];
    public IReadOnlyList<string>? AllowRpcs { get; init; }
    /// <summary>Self-thaw deadline in seconds; 0 disables it.</summary>
    public int FreezeTimeoutSeconds { get; init; } = 60;
    /// <summary>When set, freeze, thaw and trim touch only these mount points.</summary>
    public IReadOnlyList<string>? FsfreezeMountpoints { get; init; }

    public string EffectivePath => Path ?? Method switch
    {
        "virtio-serial" => DefaultVirtioPath,
        "isa-serial" => DefaultIsaPath,
        _ => "",
    };

    public string DumpConfig()
    {
        var k = new KeyFile();
        k.Set("general", "daemon", Daemonize ? "true" : "false");
        k.Set("general", "method", Method);
        k.Set("general", "path", EffectivePath);
        if (LogFile is not null) k.Set("general", "logfile", LogFile);
        k.Set("general", "pidfile", PidFile);
        if (FsfreezeHook is not null) k.Set("general", "fsfreeze-hook", FsfreezeHook);
        k.Set("general", "statedir", StateDir);
        k.Set("general", "verbose", Verbose ? "true" : "false");
        k.Set("general", "retry-path", RetryPath ? "true" : "false");
        if (AllowRpcs is not null) k.Set("general", "allow-rpcs", string.Join(';', AllowRpcs));
        else k.Set("general", "block-rpcs", string.Join(';', BlockRpcs));
        k.Set("general", "freeze-timeout", FreezeTimeoutSeconds.ToString(CultureInfo.InvariantCulture));
        if (FsfreezeMountpoints is not null) k.Set("general", "fsfreeze-mountpoints", string.Join(';', FsfreezeMountpoints));
        return k.ToString();
    }
}

/// <summary>What the command line asked for besides running.</summary>
internal enum AgentAction { Run, Help, Version, DumpConfig, ListRpcs }

/// <summary>Thrown for a bad command line or config; the message is printed and the agent exits 1.</summary>
internal sealed class OptionsException(string message) : Exception(message);

/// <summary>
/// qemu-ga's getopt string "hVvdm:p:l:f:F::b:a:t:Dr" with its long names, plus <c>-c/--config</c>,
/// <c>--freeze-timeout</c> and <c>--fsfreeze-mountpoints</c>. The config file is read first and the
/// command line overrides it, as in qemu-ga.
/// </summary>
internal static class OptionsParser
{
    private static readonly Dictionary<string, (char Short, bool Arg)> Long = new(StringComparer.Ordinal)
    {
        ["help"] = ('h', false), ["version"] = ('V', false), ["verbose"] = ('v', false),
        ["daemonize"] = ('d', false), ["method"] = ('m', true), ["path"] = ('p', true),
        ["logfile"] = ('l', true), ["pidfile"] = ('f', true), ["fsfreeze-hook"] = ('F', false),
        ["block-rpcs"] = ('b', true), ["blacklist"] = ('b', true), ["allow-rpcs"] = ('a', true),
        ["statedir"] = ('t', true), ["dump-conf"] = ('D', false), ["retry-path"] = ('r', false),
        ["config"] = ('c', true), ["freeze-timeout"] = ('T', true), ["fsfreeze-mountpoints"] = ('M', true),
    };

    private const string WithArg = "mplfbatc";

    public static (AgentOptions Options, AgentAction Action) Parse(IReadOnlyList<string> args, Func<string, string?>? env = null, Func<string, string?>? readFile = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        readFile ??= p => File.Exists(p) ? File.ReadAllText(p) : null;
        var parsed = new List<(char Opt, string? Value)>();
        for (int i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (a.StartsWith("--", StringComparison.Ordinal) && a.Length > 2)
            {
                var body = a[2..];
                string? value = null;
                int eq = body.IndexOf('=', StringComparison.Ordinal);
                if (eq >= 0) { value = body[(eq + 1)..]; body = body[..eq]; }
                if (!Long.TryGetValue(body, out var spec)) throw new OptionsException($"unrecognized option '{a}'");
                if (spec.Short == 'F') { parsed.Add(('F', value)); continue; }
                if (spec.Arg && value is null)
                {
                    if (i + 1 >= args.Count) throw new OptionsException($"option '{a}' requires an argument");
                    value = args[++i];
                }
                else if (!spec.Arg && value is not null) throw new OptionsException($"option '--{body}' doesn't allow an argument");
                parsed.Add((spec.Short, value));
                continue;
            }
            if (a.Length < 2 || a[0] != '-') throw new OptionsException($"unexpected argument '{a}'");
            for (int j = 1; j < a.Length; j++)
            {
                char c = a[j];
                if (c == 'F') { parsed.Add(('F', j + 1 < a.Length ? a[(j + 1)..] : null)); break; }
                if (WithArg.Contains(c, StringComparison.Ordinal))
                {
                    string value;
                    if (j + 1 < a.Length) value = a[(j + 1)..];
                    else if (i + 1 < args.Count) value = args[++i];
                    else throw new OptionsException($"option requires an argument -- '{c}'");
                    parsed.Add((c, value));
                    break;
                }
                if ("hVvdDr".Contains(c, StringComparison.Ordinal)) { parsed.Add((c, null)); continue; }
                throw new OptionsException($"invalid option -- '{c}'");
            }
        }

        var options = new AgentOptions();
        var configPath = parsed.LastOrDefault(p => p.Opt == 'c').Value ?? env("QGA_CONF");
        var configText = readFile(configPath ?? AgentOptions.DefaultConfigFile);
        if (configPath is not null && configText is null) throw new OptionsException($"cannot read config file '{configPath}'");
        if (configText is not null) options = ApplyConfig(options, configText);

        var action = AgentAction.Run;
        bool blockGiven = false, allowGiven = false;
        var block = new List<string>();
        var allow = new List<string>();
        foreach (var (opt, value) in parsed)
        {
            switch (opt)
            {
                case 'h': action = AgentAction.Help; break;
                case 'V': action = AgentAction.Version; break;
                case 'D': if (action == AgentAction.Run) action = AgentAction.DumpConfig; break;
                case 'v': options = options with { Verbose = true }; break;
                case 'd': options = options with { Daemonize = true }; break;
                case 'r': options = options with { RetryPath = true }; break;
                case 'm': options = options with { Method = value! }; break;
                case 'p': options = options with { Path = value }; break;
                case 'l': options = options with { LogFile = value }; break;
                case 'f': options = options with { PidFile = value!, PidFileGiven = true }; break;
                case 't': options = options with { StateDir = value! }; break;
                case 'F': options = options with { FsfreezeHook = string.IsNullOrEmpty(value) ? AgentOptions.DefaultHook : value }; break;
                case 'c': break;
                case 'T': options = options with { FreezeTimeoutSeconds = ParseTimeout(value!) }; break;
                case 'M': options = options with { FsfreezeMountpoints = SplitList(value!, ',') }; break;
                case 'b':
                    if (value == "help") { action = AgentAction.ListRpcs; break; }
                    blockGiven = true; block.AddRange(SplitList(value!, ',')); break;
                case 'a':
                    if (value == "help") { action = AgentAction.ListRpcs; break; }
                    allowGiven = true; allow.AddRange(SplitList(value!, ',')); break;
            }
        }
        if (blockGiven) options = options with { BlockRpcs = block };
        if (allowGiven) options = options with { AllowRpcs = allow };
        Validate(options);
        return (options, action);
    }

    /// <summary>Reads qemu-ga's <c>[general]</c> keys from a keyfile (lists separated by ';').</summary>
    public static AgentOptions ApplyConfig(AgentOptions o, string text)
    {
        KeyFile k;
        try { k = KeyFile.Parse(text); }
        catch (FormatException e) { throw new OptionsException($"invalid config file: {e.Message}"); }
        const string g = "general";
        try
        {
            if (k.GetBool(g, "daemon") is { } daemon) o = o with { Daemonize = daemon };
            if (k.Get(g, "method") is { } method) o = o with { Method = method };
            if (k.Get(g, "path") is { } path) o = o with { Path = path };
            if (k.Get(g, "logfile") is { } log) o = o with { LogFile = log };
            if (k.Get(g, "pidfile") is { } pid) o = o with { PidFile = pid, PidFileGiven = true };
            if (k.Has(g, "fsfreeze-hook")) o = o with { FsfreezeHook = k.Get(g, "fsfreeze-hook") is { Length: > 0 } h ? h : AgentOptions.DefaultHook };
            if (k.Get(g, "statedir") is { } sd) o = o with { StateDir = sd };
            if (k.GetBool(g, "verbose") is { } v) o = o with { Verbose = v };
            if (k.GetBool(g, "retry-path") is { } r) o = o with { RetryPath = r };
            if (k.GetList(g, "block-rpcs") is { } b) o = o with { BlockRpcs = b };
            if (k.GetList(g, "allow-rpcs") is { } a) o = o with { AllowRpcs = a };
            if (k.Get(g, "freeze-timeout") is { } t) o = o with { FreezeTimeoutSeconds = ParseTimeout(t) };
            if (k.GetList(g, "fsfreeze-mountpoints") is { } m) o = o with { FsfreezeMountpoints = m };
        }
        catch (FormatException e) { throw new OptionsException($"invalid config file: {e.Message}"); }
        return o;
    }

    private static void Validate(AgentOptions o)
    {
        if (o.Method is not ("virtio-serial" or "isa-serial" or "unix-listen" or "vsock-listen"))
            throw new OptionsException($"invalid channel method '{o.Method}'");
        if (o.Method is "unix-listen" or "vsock-listen" && string.IsNullOrEmpty(o.Path))
            throw new OptionsException("must specify a path for this channel");
        if (!o.StateDir.StartsWith('/')) throw new OptionsException("statedir must be an absolute path");
        if (o.FsfreezeMountpoints is { } mps && mps.Any(m => !m.StartsWith('/')))
            throw new OptionsException("fsfreeze-mountpoints must be absolute paths");
    }

    private static int ParseTimeout(string v) =>
        int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s
            : throw new OptionsException($"invalid freeze-timeout '{v}' (seconds, 0 = off)");

    private static string[] SplitList(string v, char sep) => v.Split(sep, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static string Usage(string prog)
    {
        var sb = new StringBuilder();
        sb.Append("Usage: ").Append(prog).Append(" [-m <method> -p <path>] [<options>]\n");
        sb.Append(AgentVersion.Line).Append('\n').Append('\n');
        sb.Append("""
  -m, --method      transport method: one of unix-listen, virtio-serial,
                    isa-serial, or vsock-listen (virtio-serial is the default)
  -p, --path        device/socket path (defaults: virtio-serial
                    /dev/virtio-ports/org.qemu.guest_agent.0, isa-serial
                    /dev/ttyS0; vsock-listen takes <cid>:<port>)
  -l, --logfile     set logfile path, logs to stderr by default
  -f, --pidfile     write a pidfile
  -F, --fsfreeze-hook[=PATH]
                    enable fsfreeze hook (default /etc/qemu/fsfreeze-hook);
                    the argument must be attached: -F/path/to/hook
  -t, --statedir    dir for state files (absolute, default /var/run)
  -v, --verbose     log extra debugging information
  -V, --version     print version information and exit
  -c, --config      read this config file (default $QGA_CONF or
                    /etc/qemu/qemu-ga.conf)
  -b, --block-rpcs  comma-separated list of RPCs to disable ("help" lists them)
  -a, --allow-rpcs  comma-separated list of RPCs to enable ("help" lists them)
  -D, --dump-conf   dump the effective config as a keyfile and exit
  -r, --retry-path  re-open the channel when it fails or disappears
      --freeze-timeout=SECONDS
                    thaw by itself when frozen this long without a thaw
                    (default 60, 0 = off)
      --fsfreeze-mountpoints=LIST
                    comma-separated mount points freeze/thaw/trim may touch
  -h, --help        display this help and exit

""");
        return sb.ToString();
    }
}

internal static class AgentVersion
{
    public const string Version = "1.0.0";
    public const string Line = "qga-agent " + Version + " (QEMU Guest Agent compatible)";
}
