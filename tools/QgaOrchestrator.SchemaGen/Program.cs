using QgaOrchestrator.SchemaGen;

// Usage: SchemaGen <schema.json> <output.cs>
// Writes the output only when its text changes, so builds that did not touch the schema stay incremental.
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: QgaOrchestrator.SchemaGen <qapi-schema> <output.cs>");
    return 64;
}
try
{
    var defs = QapiReader.Read(File.ReadAllText(args[0]));
    var code = new CSharpEmitter(defs).Emit();
    if (!File.Exists(args[1]) || File.ReadAllText(args[1]) != code)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(args[1]))!);
        File.WriteAllText(args[1], code);
    }
    return 0;
}
catch (QapiException e)
{
    Console.Error.WriteLine($"{args[0]}: error QAPI001: {e.Message}");
    return 1;
}
