using Xunit.Abstractions;
using Xunit.Sdk;

namespace QgaOrchestrator.Vm.Tests.Infrastructure;

/// <summary>Where a test runs in a class ordered by <see cref="TestOrderer"/>: lower first.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class TestOrderAttribute(int order) : Attribute
{
    public int Order { get; } = order;
}

/// <summary>
/// Runs a class's tests by <see cref="TestOrderAttribute"/>, for tests that share a guest whose last
/// one ends it (a shutdown must come after the suspend of the same VM).
/// </summary>
public sealed class TestOrderer : ITestCaseOrderer
{
    public const string TypeName = "QgaOrchestrator.Vm.Tests.Infrastructure.TestOrderer";
    public const string AssemblyName = "QgaOrchestrator.Vm.Tests";

    public IEnumerable<TTestCase> OrderTestCases<TTestCase>(IEnumerable<TTestCase> testCases) where TTestCase : ITestCase =>
        testCases.OrderBy(t => OrderOf(t)).ThenBy(t => t.TestMethod.Method.Name, StringComparer.Ordinal);

    private static int OrderOf(ITestCase test) =>
        test.TestMethod.Method.GetCustomAttributes(typeof(TestOrderAttribute).AssemblyQualifiedName!)
            .Select(a => (int)a.GetConstructorArguments().First())
            .DefaultIfEmpty(int.MaxValue)
            .First();
}
