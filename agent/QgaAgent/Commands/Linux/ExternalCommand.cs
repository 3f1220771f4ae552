using System.Runtime.InteropServices;
using System.Text;

namespace QgaAgent.Commands.Linux;

/// <summary>
/// Runs a helper like qemu-ga's fork+setsid+exec+waitpid: stdio on /dev/null, a new session, signal
/// dispositions reset, the exit status back. posix_spawn instead of System.Diagnostics.Process,
/// which would bring a SIGCHLD reaper and its pipes and threads into the agent for a rare event.
/// </summary>
internal static unsafe partial class ExternalCommand
{
    private const short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08, POSIX_SPAWN_SETSID = 0x80;
    private const int O_RDONLY = 0, O_WRONLY = 1, EINTR = 4, SIGPIPE = 13;

    /// <returns>The exit code; null when the program could not be started or did not exit normally (a signal).</returns>
    public static int? Run(string program, params string[] args)
    {
        // glibc: posix_spawn_file_actions_t is 80 bytes, posix_spawnattr_t 336, sigset_t 128; room to spare.
        byte* actions = stackalloc byte[256];
        byte* attr = stackalloc byte[512];
        byte* signals = stackalloc byte[256];
        var argv = new List<nint>();
        try
        {
            foreach (var a in (string[])[program, .. args]) argv.Add(Utf8(a));
            argv.Add(0);
            if (posix_spawn_file_actions_init(actions) != 0) return null;
            if (posix_spawnattr_init(attr) != 0) { posix_spawn_file_actions_destroy(actions); return null; }
            try
            {
                posix_spawn_file_actions_addopen(actions, 0, "/dev/null", O_RDONLY, 0);
                posix_spawn_file_actions_addopen(actions, 1, "/dev/null", O_WRONLY, 0);
                posix_spawn_file_actions_addopen(actions, 2, "/dev/null", O_WRONLY, 0);
                sigemptyset(signals);
                posix_spawnattr_setsigmask(attr, signals);
                sigaddset(signals, SIGPIPE); // ignored by the .NET runtime; an ignored signal survives exec
                posix_spawnattr_setsigdefault(attr, signals);
                posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
                int pid;
                fixed (nint* argvPtr = CollectionsMarshal.AsSpan(argv))
                {
                    if (posix_spawnp(&pid, argv[0], actions, attr, argvPtr, Environ()) != 0) return null;
                }
                int status;
                while (waitpid(pid, &status, 0) < 0)
                {
                    if (Marshal.GetLastPInvokeError() != EINTR) return null;
                }
                // WIFEXITED / WEXITSTATUS
                return (status & 0x7f) == 0 ? (status >> 8) & 0xff : null;
            }
            finally
            {
                posix_spawnattr_destroy(attr);
                posix_spawn_file_actions_destroy(actions);
            }
        }
        finally
        {
            foreach (var p in argv) if (p != 0) NativeMemory.Free((void*)p);
        }
    }

    private static nint Utf8(string s)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        byte* p = (byte*)NativeMemory.Alloc((nuint)n + 1);
        Encoding.UTF8.GetBytes(s, new Span<byte>(p, n));
        p[n] = 0;
        return (nint)p;
    }

    private static nint* Environ()
    {
        var libc = NativeLibrary.Load("libc.so.6");
        return *(nint**)NativeLibrary.GetExport(libc, "environ");
    }

    [LibraryImport("libc")]
    private static partial int posix_spawnp(int* pid, nint file, byte* actions, byte* attr, nint* argv, nint* envp);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_init(byte* actions);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_destroy(byte* actions);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int posix_spawn_file_actions_addopen(byte* actions, int fd, string path, int flags, uint mode);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_init(byte* attr);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_destroy(byte* attr);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setflags(byte* attr, short flags);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setsigmask(byte* attr, byte* set);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setsigdefault(byte* attr, byte* set);

    [LibraryImport("libc")]
    private static partial int sigemptyset(byte* set);

    [LibraryImport("libc")]
    private static partial int sigaddset(byte* set, int signum);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int waitpid(int pid, int* status, int options);
}
