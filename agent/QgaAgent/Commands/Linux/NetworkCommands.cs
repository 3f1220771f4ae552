using System.Globalization;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using QgaAgent.Dispatch;
using QgaOrchestrator.Protocol.Qga;

namespace QgaAgent.Commands.Linux;

/// <summary>
/// guest-network-get-interfaces: names, MAC, IPv4/IPv6 with prefix (from getifaddrs, via
/// System.Net.NetworkInformation, which is AOT-safe) and statistics parsed from /proc/net/dev
/// (only for interfaces with an IP address, as qemu-ga 7.2).
/// </summary>
internal static class NetworkCommands
{
    public static void Register(CommandRegistry registry) =>
        registry.Register(QgaCommands.GuestNetworkGetInterfaces, _ => CommandResult<IReadOnlyList<GuestNetworkInterface>>.Of(GetInterfaces()));

    public static List<GuestNetworkInterface> GetInterfaces()
    {
        Dictionary<string, GuestNetworkInterfaceStat> stats;
        try { stats = ParseProcNetDev(File.ReadAllText("/proc/net/dev")); }
        catch (IOException) { stats = []; }
        var result = new List<GuestNetworkInterface>();
        NetworkInterface[] all;
        try { all = NetworkInterface.GetAllNetworkInterfaces(); }
        catch (NetworkInformationException) { throw new CommandFailedException("getifaddrs failed"); }
        foreach (var nic in all)
        {
            var addresses = new List<GuestIpAddress>();
            foreach (var ua in nic.GetIPProperties().UnicastAddresses)
            {
                var ip = ua.Address;
                bool v6 = ip.AddressFamily == AddressFamily.InterNetworkV6;
                if (!v6 && ip.AddressFamily != AddressFamily.InterNetwork) continue;
                var text = ip.ToString();
                int pct = text.IndexOf('%', StringComparison.Ordinal);
                if (pct >= 0) text = text[..pct]; // inet_ntop prints no scope id
                addresses.Add(new GuestIpAddress
                {
                    IpAddress = text,
                    IpAddressType = v6 ? GuestIpAddressType.Ipv6 : GuestIpAddressType.Ipv4,
                    Prefix = ua.PrefixLength,
                });
            }
            var mac = nic.GetPhysicalAddress().GetAddressBytes();
            result.Add(new GuestNetworkInterface
            {
                Name = nic.Name,
                HardwareAddress = mac.Length == 0 ? "00:00:00:00:00:00" : string.Join(':', mac.Select(b => b.ToString("x2", CultureInfo.InvariantCulture))),
                IpAddresses = addresses.Count == 0 ? null : addresses,
                // qemu-ga reads /proc/net/dev only on reaching an interface's first IP address.
                Statistics = addresses.Count > 0 && stats.TryGetValue(nic.Name, out var s) ? s : null,
            });
        }
        return result;
    }

    /// <summary>/proc/net/dev: "name: rx-bytes packets errs drop fifo frame compressed multicast tx-bytes packets errs drop ...".</summary>
    public static Dictionary<string, GuestNetworkInterfaceStat> ParseProcNetDev(string text)
    {
        var result = new Dictionary<string, GuestNetworkInterfaceStat>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0) continue;
            var name = line[..colon].Trim();
            var f = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 16) continue;
            ulong F(int i) => ulong.TryParse(f[i], CultureInfo.InvariantCulture, out var v) ? v : 0;
            result[name] = new GuestNetworkInterfaceStat
            {
                RxBytes = F(0), RxPackets = F(1), RxErrs = F(2), RxDropped = F(3),
                TxBytes = F(8), TxPackets = F(9), TxErrs = F(10), TxDropped = F(11),
            };
        }
        return result;
    }
}
