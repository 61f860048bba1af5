# handover: every check in one PowerShell process (starting PowerShell costs about a second). Each check runs
# in a runspace of its own with its own timeout, and one JSON line tagged with its control id is printed as
# each finishes, so a hung WMI class costs that check alone. The checks arrive base64-encoded: no quoting
# of script text inside script text.
$ErrorActionPreference = 'Stop'
$checks = @(
{{#each checks}}
    @{ Id = {{id}}; Timeout = [int]{{timeout}}; Script = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String({{script}})) }
{{/each}}
)
# In a batch, Result ends a check by throwing this marker instead of exiting the process.
$prelude = '$global:HandoverBatched = $true' + [Environment]::NewLine + 'try {' + [Environment]::NewLine
$epilogue = [Environment]::NewLine + '} catch { if ([string]$_ -ne ''handover:done'') { throw } }'
$running = New-Object System.Collections.Generic.List[object]
foreach ($c in $checks) {
    $ps = [powershell]::Create()
    $null = $ps.AddScript($prelude + $c.Script + $epilogue)
    $running.Add([pscustomobject]@{ Id = $c.Id; PS = $ps; Handle = $ps.BeginInvoke(); Deadline = [DateTime]::UtcNow.AddSeconds($c.Timeout); Timeout = $c.Timeout })
}
while ($running.Count -gt 0) {
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
        } elseif ([DateTime]::UtcNow -gt $r.Deadline) {
            $r.PS.Stop()
            $line = [ordered]@{ id = $r.Id; result = $null; errors = @("killed after its timeout of $($r.Timeout) s"); timed_out = $true }
        }
        if ($line) {
            [Console]::Out.WriteLine(($line | ConvertTo-Json -Compress -Depth 4))
            [Console]::Out.Flush()
            $r.PS.Dispose()
            $null = $running.Remove($r)
        }
    }
    Start-Sleep -Milliseconds 20
}
