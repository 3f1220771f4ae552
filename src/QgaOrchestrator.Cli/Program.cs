var version = typeof(Program).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
if (args is ["--version"] or ["-V"])
{
    Console.WriteLine($"qgaorch {version}");
    return 0;
}
Console.Error.WriteLine("usage: qgaorch --version");
return 64;
