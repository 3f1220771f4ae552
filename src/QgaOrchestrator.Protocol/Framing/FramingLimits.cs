namespace QgaOrchestrator.Protocol.Framing;

/// <summary>
/// Bounds on what a reader accepts from its peer. The defaults are qemu's own parser limits
/// (64 MiB per message, nesting 1024, 2 Mi tokens); a host talking to untrusted guests may lower them.
/// </summary>
public sealed record FramingLimits
{
    public static readonly FramingLimits Default = new();

    /// <summary>Largest message, in bytes, excluding the newline.</summary>
    public int MaxMessageBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>Deepest nesting of objects and arrays.</summary>
    public int MaxDepth { get; init; } = 1024;

    /// <summary>Most JSON tokens in one message (agent side).</summary>
    public int MaxTokens { get; init; } = 2 * 1024 * 1024;
}

/// <summary>Why a frame was rejected.</summary>
public enum FramingErrorKind
{
    /// <summary>The message exceeded <see cref="FramingLimits.MaxMessageBytes"/>; it was skipped unbuffered.</summary>
    TooLarge,
    /// <summary>The message nested deeper than <see cref="FramingLimits.MaxDepth"/>.</summary>
    TooDeep,
    /// <summary>The message was not valid UTF-8.</summary>
    InvalidUtf8,
    /// <summary>The message was not valid JSON.</summary>
    InvalidJson,
    /// <summary>Valid JSON, but not a message of the protocol (e.g. a reply with neither return nor error).</summary>
    UnexpectedMessage,
}
