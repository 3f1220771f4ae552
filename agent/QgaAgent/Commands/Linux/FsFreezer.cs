using QgaAgent.Platform;

namespace QgaAgent.Commands.Linux;

/// <summary>The kernel side of freeze/thaw/trim, behind an interface so dispatch can be tested without root.</summary>
internal interface IFsFreezer
{
    /// <summary>The mounts in qemu-ga's order (mountinfo order).</summary>
    IReadOnlyList<FsMount> Mounts();

    /// <summary>FIFREEZE; 0 or errno. <paramref name="openFailed"/> tells an open(2) failure from an ioctl one.</summary>
    int Freeze(string dir, out bool openFailed);

    /// <summary>One FITHAW; 0 or errno (EINVAL when not frozen).</summary>
    int ThawOnce(string dir, out bool openFailed);

    /// <summary>FITRIM over the whole fs; 0 or errno; <paramref name="trimmed"/> is the kernel's returned length.</summary>
    int Trim(string dir, ulong minimum, out ulong trimmed, out bool openFailed);
}

internal sealed unsafe class LinuxFsFreezer : IFsFreezer
{
    public IReadOnlyList<FsMount> Mounts() => MountInfo.Read();

    public int Freeze(string dir, out bool openFailed) => Ioctl(dir, Libc.FIFREEZE, out openFailed);

    public int ThawOnce(string dir, out bool openFailed) => Ioctl(dir, Libc.FITHAW, out openFailed);

    public int Trim(string dir, ulong minimum, out ulong trimmed, out bool openFailed)
    {
        trimmed = 0;
        int fd = Libc.Open(dir, Libc.O_RDONLY);
        openFailed = fd < 0;
        if (fd < 0) return Libc.Errno;
        var range = new Libc.FstrimRange { Start = 0, Len = ulong.MaxValue, MinLen = minimum };
        int rc = Libc.ioctl(fd, Libc.FITRIM, &range);
        int e = rc == 0 ? 0 : Libc.Errno;
        Libc.close(fd);
        trimmed = range.Len;
        return e;
    }

    private static int Ioctl(string dir, uint request, out bool openFailed)
    {
        int fd = Libc.Open(dir, Libc.O_RDONLY);
        openFailed = fd < 0;
        if (fd < 0) return Libc.Errno;
        int rc = Libc.ioctl(fd, request, 0);
        int e = rc == 0 ? 0 : Libc.Errno;
        Libc.close(fd);
        return e;
    }
}
