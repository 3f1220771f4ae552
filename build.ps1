#!/usr/bin/env pwsh
# QgaOrchestrator build: run as `dotnet pwsh build.ps1 <target>` (PowerShell 7 is a local dotnet tool).
#   deps     install the Debian packages the tests and the demo use (root only; skipped otherwise)
#   build    compile everything (Release)
#   test     deps + publish + every test project, one at a time; ends with "Tests: N passed, N failed, N skipped"
#   publish  artifacts/bin/qga-agent (NativeAOT), qgaorch and qgaorchd (single-file, framework-dependent)
#   demo     the main job: a consistent group snapshot of a small fleet (see README)
#   bench    the benchmarks under bench/
#   clean    remove bin/, obj/ and artifacts/
param([Parameter(Position = 0)][string]$Target = 'build', [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Root = $PSScriptRoot
$Artifacts = Join-Path $Root 'artifacts'
$Bin = Join-Path $Artifacts 'bin'
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'

# Debian packages: qemu-ga is the reference peer; the rest make real filesystems and real VMs, and
# postgresql-15 the server of the PostgreSQL journal tests (.ci/postgres starts it; they read QGAORCH_TEST_PG).
$DebianPackages = @('qemu-guest-agent', 'e2fsprogs', 'util-linux', 'kmod', 'qemu-system-x86', 'qemu-utils',
    'linux-image-amd64', 'busybox-static', 'cpio', 'postgresql-15', 'socat', 'xz-utils')

function Invoke-Checked([string]$Command, [string[]]$Arguments) {
    & $Command @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Command $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Invoke-Deps {
    if ((& id -u) -ne '0' -or -not (Get-Command apt-get -ErrorAction SilentlyContinue)) {
        Write-Host 'deps: not root or no apt-get; tests that need these packages will skip and say why.'
        return
    }
    $missing = @($DebianPackages | Where-Object { (& dpkg-query -W -f '${Status}' $_ 2>$null) -ne 'install ok installed' })
    if ($missing.Count -eq 0) { Write-Host 'deps: all Debian packages present.'; return }
    Write-Host "deps: installing $($missing -join ', ')"
    $env:DEBIAN_FRONTEND = 'noninteractive'
    Invoke-Checked 'apt-get' @('update', '-qq')
    Invoke-Checked 'apt-get' (@('install', '-y', '-qq', '--no-install-recommends') + $missing)
}

function Invoke-Build {
    Invoke-Checked 'dotnet' @('build', (Join-Path $Root 'QgaOrchestrator.sln'), '-c', 'Release', '-nologo', '-v', 'minimal')
}

function Invoke-Publish {
    New-Item -ItemType Directory -Force $Bin | Out-Null
    Invoke-Checked 'dotnet' @('publish', (Join-Path $Root 'agent/QgaAgent/QgaAgent.csproj'), '-c', 'Release', '-r', 'linux-x64',
        '-o', (Join-Path $Artifacts 'publish/qga-agent'), '-nologo', '-v', 'minimal')
    Copy-Item (Join-Path $Artifacts 'publish/qga-agent/qga-agent') $Bin -Force
    foreach ($p in @(@('src/QgaOrchestrator.Cli/QgaOrchestrator.Cli.csproj', 'qgaorch'), @('src/QgaOrchestrator.Host/QgaOrchestrator.Host.csproj', 'qgaorchd'))) {
        $out = Join-Path $Artifacts "publish/$($p[1])"
        Invoke-Checked 'dotnet' @('publish', (Join-Path $Root $p[0]), '-c', 'Release', '-r', 'linux-x64', '--self-contained', 'false',
            '-p:PublishSingleFile=true', '-o', $out, '-nologo', '-v', 'minimal')
        Copy-Item (Join-Path $out $p[1]) $Bin -Force
    }
    Get-ChildItem $Bin | ForEach-Object { Write-Host ("publish: {0,-10} {1,10:N0} bytes" -f $_.Name, $_.Length) }
}

# The PostgreSQL journal tests read QGAORCH_TEST_PG. When it is unset and we are root with Debian's
# postgresql-15, start a throwaway local server (.ci/postgres: own data dir and port) for this run.
function Start-TestPostgres {
    if ($env:QGAORCH_TEST_PG -or (& id -u) -ne '0' -or -not (Test-Path '/usr/lib/postgresql/15/bin/initdb')) { return $false }
    $line = & bash (Join-Path $Root '.ci/postgres') start
    if ($LASTEXITCODE -eq 0 -and "$line" -match "QGAORCH_TEST_PG='([^']+)'") { $env:QGAORCH_TEST_PG = $Matches[1]; return $true }
    Write-Host 'test: the local PostgreSQL did not start; the PostgreSQL tests will skip and say why.'
    return $false
}

function Invoke-Test {
    Invoke-Deps
    Invoke-Publish
    $env:QGA_AGENT_BIN = Join-Path $Bin 'qga-agent'
    $results = Join-Path $Artifacts 'test-results'
    Remove-Item -Recurse -Force $results -ErrorAction SilentlyContinue
    New-Item -ItemType Directory -Force $results | Out-Null
    $startedPostgres = Start-TestPostgres
    $failedProjects = @()
    # One project at a time: on 2 cores, parallel projects make each other's deadlines race.
    foreach ($proj in Get-ChildItem (Join-Path $Root 'tests') -Recurse -Filter '*.Tests.csproj' | Sort-Object Name) {
        Write-Host "test: $($proj.BaseName)"
        & dotnet test $proj.FullName -c Release -nologo -v minimal --logger "trx;LogFileName=$($proj.BaseName).trx" --results-directory $results
        if ($LASTEXITCODE -ne 0) { $failedProjects += $proj.BaseName }
    }
    if ($startedPostgres) { & bash (Join-Path $Root '.ci/postgres') stop }
    $passed = 0; $failed = 0; $skipped = 0
    foreach ($trx in Get-ChildItem $results -Filter '*.trx') {
        [xml]$doc = Get-Content $trx.FullName
        $c = $doc.TestRun.ResultSummary.Counters
        $passed += [int]$c.passed; $failed += [int]$c.failed; $skipped += [int]$c.total - [int]$c.executed  # the TRX notExecuted counter stays 0 for xunit skips
    }
    if ($failedProjects.Count -gt 0 -and $failed -eq 0) { $failed = $failedProjects.Count }  # a project that crashed before reporting
    Write-Host ''
    if ($failedProjects.Count -gt 0) { Write-Host "Failing test projects: $($failedProjects -join ', ')" }
    Write-Host "Tests: $passed passed, $failed failed, $skipped skipped"
    if ($failed -gt 0 -or $passed -eq 0) { exit 1 }
}

function Invoke-Bench {
    Invoke-Publish
    $env:QGA_AGENT_BIN = Join-Path $Bin 'qga-agent'
    foreach ($proj in Get-ChildItem (Join-Path $Root 'bench') -Recurse -Filter '*.csproj' | Sort-Object Name) {
        Write-Host "bench: $($proj.BaseName)"
        Invoke-Checked 'dotnet' (@('run', '--project', $proj.FullName, '-c', 'Release', '--') + @($Rest | Where-Object { $_ }))
    }
}

function Invoke-Demo {
    Invoke-Deps
    Invoke-Publish
    $script = Join-Path $Root 'tools/demo.sh'
    if (-not (Test-Path $script)) { throw 'demo: tools/demo.sh is missing' }
    Invoke-Checked 'bash' @($script, $Bin)
}

function Invoke-Clean {
    Get-ChildItem $Root -Recurse -Directory -Include bin, obj | Where-Object { $_.FullName -notmatch '[\\/]\.git[\\/]' } |
        Remove-Item -Recurse -Force
    Remove-Item -Recurse -Force $Artifacts -ErrorAction SilentlyContinue
}

switch ($Target) {
    'deps' { Invoke-Deps }
    'build' { Invoke-Build }
    'test' { Invoke-Test }
    'publish' { Invoke-Publish }
    'bench' { Invoke-Bench }
    'demo' { Invoke-Demo }
    'clean' { Invoke-Clean }
    default { Write-Error "unknown target '$Target' (deps, build, test, publish, demo, bench, clean)"; exit 64 }
}
