// qgaorchd: the service on a hypervisor node (see QgaHost).
using QgaOrchestrator.Host;

var version = typeof(QgaHost).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
if (args is ["--version"] or ["-V"])
{
    Console.WriteLine($"qgaorchd {version}");
    return 0;
}
return await QgaHost.RunAsync(args, Console.Error);
