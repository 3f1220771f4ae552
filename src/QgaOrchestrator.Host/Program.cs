// qgaorchd: the service on a hypervisor node. The actor core, the HTTP API and the sagas are
// added by later work; until then the binary reports its version and what it does not do yet.
var version = typeof(Program).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
if (args is ["--version"] or ["-V"])
{
    Console.WriteLine($"qgaorchd {version}");
    return 0;
}
Console.Error.WriteLine($"qgaorchd {version}: the service is not available in this build yet (use --version).");
return 64;
