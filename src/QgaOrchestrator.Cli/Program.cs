using QgaOrchestrator.Cli;

var version = typeof(GuestCommand).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
if (args is ["--version"] or ["-V"])
{
    Console.WriteLine($"qgaorch {version}");
    return 0;
}
if (args is ["guest", .. var rest])
    return await GuestCommand.RunAsync(rest, Console.Out, Console.Error).ConfigureAwait(false);
Console.Error.WriteLine("usage: qgaorch --version");
Console.Error.WriteLine("       " + GuestCommand.UsageText["usage: ".Length..]);
return 64;
