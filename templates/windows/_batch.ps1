# handover: every check in one PowerShell process (starting PowerShell costs about a second). Each check runs
# in a runspace of its own with its own timeout, and one JSON line tagged with its control id is printed as
# each finishes, so a hung WMI class costs that check alone. The checks arrive base64-encoded: no quoting
# of script text inside script text.
# UTF-8 out first: handover decodes stdout as UTF-8 (src/runner.rs); Windows PowerShell 5.1 otherwise writes
# the OEM code page (devlawey/filar#257). Refused in Constrained Language Mode, which is reported next.
try {
    [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
    $OutputEncoding = [Console]::OutputEncoding
} catch { }
$ErrorActionPreference = 'Stop'
$ids = @({{#each checks}}{{id}}, {{/each}}$null) | Where-Object { $_ }
# Constrained Language Mode (an AppLocker, App Control for Business/WDAC or Smart App Control policy that does
# not trust this script, PowerShell/PowerShellEditorServices#1221) blocks [powershell]::Create(), base64
# decoding and COM, so nothing below could run: every check is an error that names the cause. Only cmdlets
# and hashtables are used here, which that mode allows.
$mode = [string]$ExecutionContext.SessionState.LanguageMode
if ($mode -ne 'FullLanguage') {
    $why = "Windows PowerShell runs in $mode (Constrained Language Mode): an application-control policy (AppLocker, WDAC / App Control for Business or Smart App Control) does not trust handover's scripts, so this check cannot run; allow them in that policy"
    foreach ($id in $ids) {
        # Plain hashtables ([ordered] is not sure to be allowed in that mode): the order of keys does not matter.
        $result = @{ compliant = $false; reason = $why; observed = @{ language_mode = $mode }; status = 'error' } | ConvertTo-Json -Compress
        Write-Output (@{ id = $id; result = $result; errors = @(); timed_out = $false } | ConvertTo-Json -Compress)
    }
    exit 0
}
$checks = @(
{{#each checks}}
    @{ Id = {{id}}; Timeout = [int]{{timeout}}; Script = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String({{script}})) }
{{/each}}
)
# In a batch, Result ends a check by throwing this marker instead of exiting the process.
$prelude = '$global:HandoverBatched = $true' + [Environment]::NewLine + 'try {' + [Environment]::NewLine
$epilogue = [Environment]::NewLine + '} catch { if ([string]$_ -ne ''handover:done'') { throw } }'
# At most this many checks at once: a freshly imaged laptop busy with Windows Update, Defender and the Store
# loads each runspace's modules (NetSecurity, Defender, Dism...) slowly, and all of them at once made every
# one late. A check's timeout runs from its own start, not from the batch's. Each check still gets a fresh
# runspace of its own ([powershell]::Create() without a pool), so no variable or function leaks between them.
$slots = 5
$waiting = New-Object System.Collections.Generic.Queue[object]
foreach ($c in $checks) { $waiting.Enqueue($c) }
$running = New-Object System.Collections.Generic.List[object]
$abandoned = $false
while ($waiting.Count -gt 0 -or $running.Count -gt 0) {
    while ($waiting.Count -gt 0 -and $running.Count -lt $slots) {
        $c = $waiting.Dequeue()
        $ps = [powershell]::Create()
        $null = $ps.AddScript($prelude + $c.Script + $epilogue)
        $running.Add([pscustomobject]@{ Id = $c.Id; PS = $ps; Handle = $ps.BeginInvoke(); Deadline = [DateTime]::UtcNow.AddSeconds($c.Timeout); Timeout = $c.Timeout })
    }
    foreach ($r in @($running)) {
        $line = $null
        if ($r.Handle.IsCompleted) {
            try {
                $out = @($r.PS.EndInvoke($r.Handle) | ForEach-Object { [string]$_ } | Where-Object { $_.StartsWith('{') })
                $result = if ($out.Count -gt 0) { $out[$out.Count - 1] } else { $null }
                $errors = @($r.PS.Streams.Error | ForEach-Object { [string]$_ })
                $line = [ordered]@{ id = $r.Id; result = $result; errors = $errors; timed_out = $false }
            } catch {
                $line = [ordered]@{ id = $r.Id; result = $null; errors = @([string]$_); timed_out = $false }
            }
            $r.PS.Dispose()
        } elseif ([DateTime]::UtcNow -gt $r.Deadline) {
            # BeginStop, not Stop: a runspace blocked inside a COM call (WUA Search, ADSI) cannot be stopped,
            # and a synchronous Stop would hold every other check until handover kills the whole process.
            $null = $r.PS.BeginStop($null, $null)
            $abandoned = $true
            $line = [ordered]@{ id = $r.Id; result = $null; errors = @("killed after its timeout of $($r.Timeout) s"); timed_out = $true }
        }
        if ($line) {
            [Console]::Out.WriteLine(($line | ConvertTo-Json -Compress -Depth 4))
            [Console]::Out.Flush()
            $null = $running.Remove($r)
        }
    }
    Start-Sleep -Milliseconds 20
}
# A runspace left stuck in a COM call would keep the process alive: end it, every line is printed.
if ($abandoned) { [Environment]::Exit(0) }
