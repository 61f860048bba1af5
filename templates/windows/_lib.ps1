# handover: shared helpers of the Windows check and apply scripts (rendered, never edited by hand).
# A check ends with one JSON line: {"compliant": bool, "reason": "...", "observed": {...}[, "status": "..."]}.
# Strict about unset variables only: a missing property on a vendor's object must not stop a check.
Set-StrictMode -Version 1.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$script:Observed = [ordered]@{}
$script:Problems = New-Object System.Collections.Generic.List[string]

function Obs([string]$Key, $Value) { $script:Observed[$Key] = $Value }
function Problem([string]$Reason) { $script:Problems.Add($Reason) }

function Result([bool]$Compliant, [string]$Reason, [string]$Status = '') {
    $line = [ordered]@{ compliant = $Compliant; reason = $Reason; observed = $script:Observed }
    if ($Status) { $line['status'] = $Status }
    Write-Output ($line | ConvertTo-Json -Compress -Depth 6)
    # Alone, a check ends its process; in the batch of checks (_batch.ps1) it ends its own runspace.
    if (Get-Variable -Name HandoverBatched -Scope Global -ErrorAction SilentlyContinue) { throw 'handover:done' }
    exit 0
}

function Finish([string]$Reason) {
    if ($script:Problems.Count -gt 0) { Result $false ($script:Problems -join '; ') }
    Result $true $Reason
}

# Local accounts by well-known relative id (names are localised: never look them up by name).
function Get-BuiltinAccount([int]$Rid) {
    Get-LocalUser | Where-Object { $_.SID.Value -match '^S-1-5-21-.+-(\d+)$' -and [int]$Matches[1] -eq $Rid }
}

# Members of the local Administrators group (S-1-5-32-544). Get-LocalGroupMember throws on orphaned or
# Entra ID SIDs (PowerShell/PowerShell#2996), so fall back to ADSI.
function Get-AdminMembers {
    try {
        return @(Get-LocalGroupMember -SID 'S-1-5-32-544' | ForEach-Object { ($_.Name -split '\\')[-1] })
    } catch {
        $group = (Get-LocalGroup -SID 'S-1-5-32-544').Name
        $adsi = [ADSI]"WinNT://$env:COMPUTERNAME/$group,group"
        return @($adsi.Invoke('Members') | ForEach-Object { $_.GetType().InvokeMember('Name', 'GetProperty', $null, $_, $null) })
    }
}

# Installed programs from the Uninstall keys (never Win32_Product: it starts MSI repairs).
function Get-Installed([string]$Like) {
    $keys = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*', 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\*'
    Get-ItemProperty -Path $keys -ErrorAction SilentlyContinue | Where-Object { $_.PSObject.Properties['DisplayName'] -and $_.DisplayName -like $Like }
}

# Run an installer and map Windows' reboot codes to handover's: 3010 (ERROR_SUCCESS_REBOOT_REQUIRED)
# to 194, "finish the other controls, then exit 3"; 1641 (ERROR_SUCCESS_REBOOT_INITIATED, the installer
# is restarting the machine) to 195, "write the journal and stop at once".
# https://learn.microsoft.com/en-us/windows/win32/msi/error-codes
function Invoke-Installer([string]$Path, [string[]]$Arguments) {
    $p = Start-Process -FilePath $Path -ArgumentList $Arguments -Wait -PassThru -NoNewWindow
    if ($p.ExitCode -eq 3010) { exit 194 }
    if ($p.ExitCode -eq 1641) { exit 195 }
    if ($p.ExitCode -ne 0) { throw "$Path exited with $($p.ExitCode)" }
}

# SPEC 7: never cut the session handover runs over. An RDP session ($env:SESSIONNAME RDP-*) or a WinRM
# one (under wsmprovhost) must be let in by a site entry for its port, or the change waits for --force-remote.
function Assert-SessionKept([int[]]$SitePorts) {
    $port = $null
    if ($env:SESSIONNAME -like 'RDP-*') { $port = 3389 }
    else {
        # Windows PowerShell 5.1 has no Process.Parent: ask CIM for the parent's id.
        $parent = (Get-CimInstance -ClassName Win32_Process -Filter "ProcessId = $PID" -OperationTimeoutSec 30).ParentProcessId
        if ((Get-Process -Id $parent -ErrorAction SilentlyContinue).ProcessName -eq 'wsmprovhost') { $port = 5985 }
    }
    if ($port -and -not $env:HANDOVER_FORCE_REMOTE -and $SitePorts -notcontains $port) {
        throw "refusing to change the firewall: this session comes in on port $port, which no [firewall] allow entry of the site covers; add one, or give --force-remote"
    }
}

function Need-User {
    if (-not $env:HANDOVER_USER) { Result $false 'no user named: give --user NAME (handover remembers it from the handover apply)' }
}
