namespace QgaOrchestrator.Protocol;

/// <summary>The error classes of the QAPI era of this schema; qemu-ga itself uses the first two.</summary>
public static class QgaErrorClass
{
    public const string GenericError = "GenericError";
    public const string CommandNotFound = "CommandNotFound";
    public const string DeviceNotActive = "DeviceNotActive";
    public const string DeviceNotFound = "DeviceNotFound";
    public const string KvmMissingCap = "KVMMissingCap";
}

/// <summary>An error reply: <c>{"error": {"class": C, "desc": D}}</c>.</summary>
public sealed record QgaError(string Class, string Desc)
{
    public static QgaError Generic(string desc) => new(QgaErrorClass.GenericError, desc);

    public static QgaError CommandNotFound(string command) =>
        new(QgaErrorClass.CommandNotFound, $"The command {command} has not been found");

    public static QgaError CommandDisabled(string command) =>
        new(QgaErrorClass.CommandNotFound, $"Command {command} has been disabled");

    public override string ToString() => $"{Class}: {Desc}";
}
