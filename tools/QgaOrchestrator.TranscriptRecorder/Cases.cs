using System.Text;

namespace QgaOrchestrator.TranscriptRecorder;

/// <summary>One recorded exchange: the bytes written (one entry per write call) and how many reply lines to wait for.</summary>
internal sealed record Case(string Name, IReadOnlyList<byte[]> Writes, int? ExpectedLines, bool Volatile = false, int WriteDelayMs = 20);

/// <summary>
/// Cases that share one qemu-ga process (needed when later cases use file handles opened by earlier ones).
/// Every other case runs in a group of its own, i.e. against a freshly started qemu-ga with a clean parser.
/// </summary>
internal sealed record CaseGroup(string Name, IReadOnlyList<Case> Cases);

internal static class Cases
{
    /// <summary>Relative to qemu-ga's working directory (the temp root), so that transcripts do not contain random paths.</summary>
    public const string ScratchDir = "scratch";

    private const byte Ff = 0xFF;

    private static byte[] T(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] Cat(params object[] parts)
    {
        var ms = new MemoryStream();
        foreach (var part in parts)
        {
            var bytes = part switch
            {
                string s => T(s),
                byte b => [b],
                byte[] a => a,
                _ => throw new ArgumentException($"unsupported part {part.GetType()}"),
            };
            ms.Write(bytes);
        }

        return ms.ToArray();
    }

    private static Case One(string name, object request, int? expected = 1, bool isVolatile = false) =>
        new(name, [request is string s ? T(s) : (byte[])request], expected, isVolatile);

    private static Case Many(string name, IReadOnlyList<byte[]> writes, int? expected, int delayMs = 20) =>
        new(name, writes, expected, WriteDelayMs: delayMs);

    private static Case ByteByByte(string name, byte[] bytes, int? expected) =>
        new(name, bytes.Select(b => new[] { b }).ToArray(), expected, WriteDelayMs: 3);

    public static IReadOnlyList<CaseGroup> All()
    {
        var solo = new List<Case>();

        // --- The cases listed in /work/shared/reference/real-guests.md ---
        solo.Add(One("ping", "{\"execute\":\"guest-ping\"}"));
        solo.Add(One("sync", "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1234}}"));
        solo.Add(One("sync-delimited-after-ff", Cat(Ff, "{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":99}}"), 2));
        solo.Add(One("unknown-command", "{\"execute\":\"guest-nope\"}"));
        solo.Add(One("top-level-array", "[1,2]"));
        solo.Add(One("ping-id-string", "{\"execute\":\"guest-ping\",\"id\":\"abc\"}"));
        solo.Add(One("arguments-unexpected-member", "{\"execute\":\"guest-ping\",\"arguments\":{\"extra\":1}}"));
        solo.Add(One("two-requests-one-write", "{\"execute\":\"guest-ping\"}\n{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1}}\n", 2));
        solo.Add(One("arg-string-for-int", "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":\"x\"}}"));
        solo.Add(One("file-read-handle-not-found-5", "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":5}}"));

        // --- guest-ping with an id of every JSON type ---
        solo.Add(One("ping-id-int", "{\"execute\":\"guest-ping\",\"id\":1}"));
        solo.Add(One("ping-id-negative-int", "{\"execute\":\"guest-ping\",\"id\":-7}"));
        solo.Add(One("ping-id-int64-max", "{\"execute\":\"guest-ping\",\"id\":9223372036854775807}"));
        solo.Add(One("ping-id-beyond-int64", "{\"execute\":\"guest-ping\",\"id\":123456789012345678901234567890}"));
        solo.Add(One("ping-id-null", "{\"execute\":\"guest-ping\",\"id\":null}"));
        solo.Add(One("ping-id-bool", "{\"execute\":\"guest-ping\",\"id\":true}"));
        solo.Add(One("ping-id-object", "{\"execute\":\"guest-ping\",\"id\":{\"seq\":1,\"tag\":\"a\"}}"));
        solo.Add(One("ping-id-array", "{\"execute\":\"guest-ping\",\"id\":[1,\"two\",null]}"));
        solo.Add(One("ping-id-float", "{\"execute\":\"guest-ping\",\"id\":1.5}"));
        solo.Add(One("ping-id-on-error", "{\"execute\":\"guest-nope\",\"id\":42}"));
        solo.Add(One("ping-empty-arguments", "{\"execute\":\"guest-ping\",\"arguments\":{}}"));

        // --- guest-sync / guest-sync-delimited ---
        solo.Add(One("sync-after-ff", Cat(Ff, "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1234}}"), 2));
        solo.Add(One("sync-with-request-id", "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":5},\"id\":\"req-5\"}"));
        solo.Add(One("sync-id-negative", "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":-1}}"));
        solo.Add(One("sync-id-int64-max", "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":9223372036854775807}}"));
        solo.Add(One("sync-id-int64-min", "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":-9223372036854775808}}"));
        solo.Add(One("sync-id-uint64-max", "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":18446744073709551615}}"));
        solo.Add(One("sync-delimited", "{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":99}}"));
        solo.Add(Many(
            "sync-delimited-after-stale-half-request",
            [T("{\"execute\":\"guest-pi"), Cat(Ff, "{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":77}}")],
            2,
            100));
        solo.Add(Many(
            "sync-delimited-after-stale-half-request-no-ff",
            [T("{\"execute\":\"guest-pi"), T("{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":78}}")],
            null,
            100));
        solo.Add(One("sync-delimited-then-ping", "{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":3}}{\"execute\":\"guest-ping\"}", 2));

        // --- Informational commands ---
        solo.Add(One("info", "{\"execute\":\"guest-info\"}"));
        solo.Add(One("fsfreeze-status", "{\"execute\":\"guest-fsfreeze-status\"}"));
        solo.Add(One("get-time", "{\"execute\":\"guest-get-time\"}", isVolatile: true));
        solo.Add(One("get-host-name", "{\"execute\":\"guest-get-host-name\"}", isVolatile: true));
        solo.Add(One("get-osinfo", "{\"execute\":\"guest-get-osinfo\"}", isVolatile: true));
        solo.Add(One("get-timezone", "{\"execute\":\"guest-get-timezone\"}", isVolatile: true));
        solo.Add(One("get-vcpus", "{\"execute\":\"guest-get-vcpus\"}", isVolatile: true));
        solo.Add(One("get-users", "{\"execute\":\"guest-get-users\"}", isVolatile: true));
        solo.Add(One("network-get-interfaces", "{\"execute\":\"guest-network-get-interfaces\"}", isVolatile: true));
        solo.Add(One("get-fsinfo", "{\"execute\":\"guest-get-fsinfo\"}", isVolatile: true));

        // --- Every blocked command answers "disabled". Each carries a junk argument as a second safety
        //     guard: were the block ever lost, argument checking would still refuse to run it. qemu-ga checks
        //     "enabled" before it looks at arguments, so the reply is the plain disabled error.
        foreach (var name in RealAgent.BlockedCommands)
        {
            solo.Add(One($"blocked-{name["guest-".Length..]}", $"{{\"execute\":\"{name}\",\"arguments\":{{\"recorder-safety-guard\":1}}}}"));
        }

        // --- Request-envelope errors ---
        solo.Add(One("unknown-command-with-arguments", "{\"execute\":\"guest-nope\",\"arguments\":{\"a\":1}}"));
        solo.Add(One("exec-oob", "{\"exec-oob\":\"guest-ping\"}"));
        solo.Add(One("execute-and-exec-oob", "{\"execute\":\"guest-ping\",\"exec-oob\":\"guest-ping\"}"));
        solo.Add(One("execute-not-string-int", "{\"execute\":1}"));
        solo.Add(One("execute-not-string-null", "{\"execute\":null}"));
        solo.Add(One("execute-not-string-array", "{\"execute\":[\"guest-ping\"]}"));
        solo.Add(One("missing-execute", "{\"arguments\":{}}"));
        solo.Add(One("empty-object", "{}"));
        solo.Add(One("unknown-top-level-member", "{\"execute\":\"guest-ping\",\"foo\":1}"));
        solo.Add(One("arguments-array", "{\"execute\":\"guest-ping\",\"arguments\":[]}"));
        solo.Add(One("arguments-string", "{\"execute\":\"guest-ping\",\"arguments\":\"x\"}"));
        solo.Add(One("arguments-number", "{\"execute\":\"guest-ping\",\"arguments\":1}"));
        solo.Add(One("arguments-null", "{\"execute\":\"guest-ping\",\"arguments\":null}"));

        // --- Argument errors ---
        solo.Add(One("arg-missing-required", "{\"execute\":\"guest-sync\",\"arguments\":{}}"));
        solo.Add(One("arg-missing-arguments", "{\"execute\":\"guest-sync\"}"));
        solo.Add(One("arg-float-for-int", "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1.5}}"));
        solo.Add(One("arg-bool-for-int", "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":true}}"));
        solo.Add(One("arg-null-for-int", "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":null}}"));
        solo.Add(One("arg-object-for-str", "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":{\"a\":1}}}"));
        solo.Add(One("arg-int-for-str", "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":5}}"));
        solo.Add(One("arg-unexpected-and-missing", "{\"execute\":\"guest-sync\",\"arguments\":{\"idd\":1}}"));

        // --- JSON syntax / lexical errors ---
        solo.Add(One("lone-ff", new[] { Ff }, null));
        solo.Add(One("two-ff", new[] { Ff, Ff }, null));
        solo.Add(One("ff-then-ping", Cat(Ff, "{\"execute\":\"guest-ping\"}"), 2));
        solo.Add(One("ff-inside-string", Cat("{\"execute\":\"guest-", Ff, "ping\"}"), null));
        solo.Add(One("ff-between-tokens", Cat("{\"execute\":", Ff, "\"guest-ping\"}"), null));
        solo.Add(One("control-byte-01", new byte[] { 0x01 }, null));
        solo.Add(One("control-byte-01-then-ping", Cat((byte)0x01, "{\"execute\":\"guest-ping\"}"), null));
        solo.Add(One("nul-byte", new byte[] { 0x00 }, null));
        solo.Add(One("nul-in-string", Cat("{\"execute\":\"guest-ping\",\"id\":\"a", (byte)0x00, "b\"}"), null));
        solo.Add(One("lone-close-brace", "}", null));
        solo.Add(One("lone-close-bracket", "]", null));
        solo.Add(One("top-level-number", "123\n", null));
        solo.Add(One("top-level-string", "\"str\"", null));
        solo.Add(One("top-level-true", "true\n", null));
        solo.Add(One("top-level-null", "null\n", null));
        solo.Add(One("bare-keyword", "abc\n", null));
        solo.Add(One("single-quoted-strings", "{'execute':'guest-ping'}", null));
        solo.Add(One("duplicate-key", "{\"execute\":\"guest-ping\",\"execute\":\"guest-info\"}", null));
        solo.Add(One("missing-colon", "{\"execute\" \"guest-ping\"}", null));
        solo.Add(One("trailing-comma", "{\"execute\":\"guest-ping\",}", null));
        solo.Add(One("invalid-utf8-in-string", Cat("{\"execute\":\"guest-ping\",\"id\":\"", (byte)0xC3, (byte)0x28, "\"}"), null));
        solo.Add(One("lone-surrogate-escape", "{\"execute\":\"guest-ping\",\"id\":\"\\ud800\"}", null));
        solo.Add(One("valid-surrogate-pair-escape", "{\"execute\":\"guest-ping\",\"id\":\"\\ud83d\\ude00\"}", null));
        solo.Add(One("interpolation-percent", "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":%d}}", null));

        // --- Streaming / framing ---
        solo.Add(One(
            "three-requests-no-newlines",
            "{\"execute\":\"guest-ping\"}{\"execute\":\"guest-sync\",\"arguments\":{\"id\":2}}{\"execute\":\"guest-ping\",\"id\":3}",
            3));
        solo.Add(ByteByByte("request-byte-by-byte", T("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":4321}}"), 1));
        solo.Add(One("whitespace-between-tokens", " \n{ \"execute\"\t:\r\n \"guest-sync\" ,\n\"arguments\" : { \"id\" : 7 } \n}\n"));
        solo.Add(One("nesting-1024-arrays", new string('[', 1024) + new string(']', 1024), null));
        solo.Add(One("nesting-1025-arrays", new string('[', 1025) + new string(']', 1025), null));
        solo.Add(One("nesting-1025-objects", string.Concat(Enumerable.Repeat("{\"a\":", 1025)) + "1" + new string('}', 1025), null));
        solo.Add(One("nesting-2000-arrays", new string('[', 2000) + new string(']', 2000), null));

        var groups = solo.Select(c => new CaseGroup(c.Name, [c])).ToList();
        groups.Add(new CaseGroup("file-ops", FileOps()));
        return groups;
    }

    private static string Req(string command, string arguments) => $"{{\"execute\":\"{command}\",\"arguments\":{arguments}}}";

    /// <summary>File operations in one qemu-ga process (fresh state dir, so the first handle is 1000).</summary>
    private static List<Case> FileOps()
    {
        var path = ScratchDir + "/hello.txt";
        var big = ScratchDir + "/big.bin";
        const string hello = "SGVsbG8gV29ybGQhCg=="; // "Hello World!\n"

        // 1 MiB of base64 text (786,432 decoded bytes) as one string argument.
        var mib = Convert.ToBase64String(Enumerable.Range(0, 786432).Select(i => (byte)(i * 7 + 3)).ToArray());
        if (mib.Length != 1 << 20)
        {
            throw new InvalidOperationException("base64 size");
        }

        return
        [
            One("file-open-w-plus", Req("guest-file-open", $"{{\"path\":\"{path}\",\"mode\":\"w+\"}}")),
            One("file-write", Req("guest-file-write", $"{{\"handle\":1000,\"buf-b64\":\"{hello}\"}}")),
            One("file-flush", Req("guest-file-flush", "{\"handle\":1000}")),
            One("file-seek-set-symbolic", Req("guest-file-seek", "{\"handle\":1000,\"offset\":0,\"whence\":\"set\"}")),
            One("file-read-default-count", Req("guest-file-read", "{\"handle\":1000}")),
            One("file-read-after-eof", Req("guest-file-read", "{\"handle\":1000}")),
            One("file-seek-set-integer", Req("guest-file-seek", "{\"handle\":1000,\"offset\":6,\"whence\":0}")),
            One("file-read-count-5", Req("guest-file-read", "{\"handle\":1000,\"count\":5}")),
            One("file-seek-cur-symbolic", Req("guest-file-seek", "{\"handle\":1000,\"offset\":-3,\"whence\":\"cur\"}")),
            One("file-seek-cur-integer", Req("guest-file-seek", "{\"handle\":1000,\"offset\":1,\"whence\":1}")),
            One("file-read-count-0", Req("guest-file-read", "{\"handle\":1000,\"count\":0}")),
            One("file-seek-end-symbolic", Req("guest-file-seek", "{\"handle\":1000,\"offset\":0,\"whence\":\"end\"}")),
            One("file-seek-end-integer", Req("guest-file-seek", "{\"handle\":1000,\"offset\":-13,\"whence\":2}")),
            One("file-read-count-48mib", Req("guest-file-read", "{\"handle\":1000,\"count\":50331648}")),
            One("file-read-count-too-big", Req("guest-file-read", "{\"handle\":1000,\"count\":50331649}")),
            One("file-read-count-negative", Req("guest-file-read", "{\"handle\":1000,\"count\":-1}")),
            One("file-seek-whence-bool", Req("guest-file-seek", "{\"handle\":1000,\"offset\":0,\"whence\":true}")),
            One("file-seek-whence-unknown-name", Req("guest-file-seek", "{\"handle\":1000,\"offset\":0,\"whence\":\"middle\"}")),
            One("file-seek-whence-int-7", Req("guest-file-seek", "{\"handle\":1000,\"offset\":0,\"whence\":7}")),
            One("file-seek-negative-position", Req("guest-file-seek", "{\"handle\":1000,\"offset\":-100,\"whence\":\"set\"}")),
            One("file-write-count-larger-than-data", Req("guest-file-write", $"{{\"handle\":1000,\"buf-b64\":\"{hello}\",\"count\":100}}")),
            One("file-write-count-smaller-than-data", Req("guest-file-write", $"{{\"handle\":1000,\"buf-b64\":\"{hello}\",\"count\":5}}")),
            One("file-write-invalid-base64", Req("guest-file-write", "{\"handle\":1000,\"buf-b64\":\"@@not base64@@\"}")),
            One("file-close", Req("guest-file-close", "{\"handle\":1000}")),
            One("file-close-again", Req("guest-file-close", "{\"handle\":1000}")),
            One("file-open-default-mode-read", Req("guest-file-open", $"{{\"path\":\"{path}\"}}")),
            One("file-write-to-read-only", Req("guest-file-write", $"{{\"handle\":1001,\"buf-b64\":\"{hello}\"}}")),
            One("file-read-second-handle", Req("guest-file-read", "{\"handle\":1001,\"count\":100}")),
            One("file-close-second-handle", Req("guest-file-close", "{\"handle\":1001}")),
            One("file-open-invalid-mode", Req("guest-file-open", $"{{\"path\":\"{path}\",\"mode\":\"q\"}}")),
            One("file-open-missing", Req("guest-file-open", $"{{\"path\":\"{ScratchDir}/missing.txt\",\"mode\":\"r\"}}")),
            One("file-open-directory-for-write", Req("guest-file-open", $"{{\"path\":\"{ScratchDir}\",\"mode\":\"w\"}}")),
            One("file-read-handle-not-found", Req("guest-file-read", "{\"handle\":999999}")),
            One("file-write-handle-not-found", Req("guest-file-write", $"{{\"handle\":999999,\"buf-b64\":\"{hello}\"}}")),
            One("file-seek-handle-not-found", Req("guest-file-seek", "{\"handle\":999999,\"offset\":0,\"whence\":\"set\"}")),
            One("file-flush-handle-not-found", Req("guest-file-flush", "{\"handle\":999999}")),
            One("file-close-handle-not-found", Req("guest-file-close", "{\"handle\":999999}")),
            One("file-open-for-long-write", Req("guest-file-open", $"{{\"path\":\"{big}\",\"mode\":\"w\"}}")),
            One("file-write-1mib-base64-argument", Req("guest-file-write", $"{{\"handle\":1002,\"buf-b64\":\"{mib}\"}}")),
            One("file-close-long-write", Req("guest-file-close", "{\"handle\":1002}")),
        ];
    }
}
