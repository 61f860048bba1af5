# handover: shared helpers of the Windows check and apply scripts (rendered, never edited by hand).
# A check ends with one JSON line: {"compliant": bool, "reason": "...", "observed": {...}[, "status": "..."]}.
# Output is UTF-8: handover decodes what it captures as UTF-8 (src/runner.rs), and Windows PowerShell 5.1 would
# otherwise write the console's OEM code page, turning localised names into U+FFFD (the fix of devlawey/filar#257).
# In Constrained Language Mode setting a .NET property is refused: that is reported just below, not here.
try {
    [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
    $OutputEncoding = [Console]::OutputEncoding
} catch { }
# An application-control policy (AppLocker or App Control for Business script rules, possibly Smart App Control)
# runs scripts it does not trust in Constrained Language Mode, where most .NET, COM and Add-Type are blocked
# (PowerShell/PowerShellEditorServices#1221): say so once, clearly, instead of failing somewhere below.
if ($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage') {
    throw "Windows PowerShell runs in $($ExecutionContext.SessionState.LanguageMode) (Constrained Language Mode): an application-control policy (AppLocker, WDAC / App Control for Business or Smart App Control) does not trust handover's scripts, so nothing can be checked or changed; allow them in that policy"
}
# Strict about unset variables only: a missing property on a vendor's object must not stop a check.
Set-StrictMode -Version 1.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$script:Observed = [ordered]@{}
$script:Problems = New-Object System.Collections.Generic.List[string]
$script:RebootRequired = $false

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

# A site's installer arguments (`args = [...]` in its [artifacts.NAME] table) arrive as a JSON array in
# HANDOVER_ARTIFACT_ARGS_<NAME>, beside the staged file in HANDOVER_ARTIFACT_<NAME>: data, never script text.
function Get-ArtifactArguments([string]$Name) {
    $json = [Environment]::GetEnvironmentVariable("HANDOVER_ARTIFACT_ARGS_$Name")
    if (-not $json) { return @() }
    # Assigned first: Windows PowerShell 5.1's ConvertFrom-Json writes an array as one object.
    $parsed = ConvertFrom-Json -InputObject $json
    return @($parsed | ForEach-Object { [string]$_ })
}

# One command line from separate arguments. Start-Process joins -ArgumentList with spaces and quotes nothing,
# so an argument holding a space or a quote is quoted here, as CommandLineToArgvW and the C runtime read it
# back: a quote becomes \", and backslashes before a quote (or before the closing quote) are doubled.
# https://learn.microsoft.com/en-us/cpp/c-language/parsing-c-command-line-arguments
function Join-CommandLine([string[]]$Arguments) {
    $quoted = foreach ($a in @($Arguments | Where-Object { $null -ne $_ })) {
        if ($a -eq '') { '""' }
        elseif ($a -notmatch '[\s"]') { $a }
        else { '"' + (($a -replace '(\\*)"', '$1$1\"') -replace '(\\+)$', '$1$1') + '"' }
    }
    return (@($quoted) -join ' ')
}

# Run an installer and wait for it alone. Windows' reboot codes map to handover's: 3010
# (ERROR_SUCCESS_REBOOT_REQUIRED) is remembered, the rest of the apply finishes, and Complete-Apply then exits
# 194, "finish the other controls, then exit 3"; 1641 (ERROR_SUCCESS_REBOOT_INITIATED, the installer is
# restarting the machine) exits 195 at once, "write the journal and stop". 1618 (ERROR_INSTALL_ALREADY_RUNNING)
# is another installation in progress. https://learn.microsoft.com/en-us/windows/win32/msi/error-codes
# Windows PowerShell 5.1's -ArgumentList refuses an empty array (PowerShell/PowerShell#4520, fixed only in
# PowerShell 6 by #6597), so it is passed only when there are arguments. -Wait is not used: it waits for every
# process the installer leaves behind, a tray app or an updater (PowerShell/PowerShell#15555,
# MicrosoftDocs/PowerShell-Docs#3005); WaitForExit waits for the installer itself.
function Invoke-Installer([string]$Path, [string[]]$Arguments = @()) {
    $start = @{ FilePath = $Path; PassThru = $true; NoNewWindow = $true }
    $line = Join-CommandLine $Arguments
    if ($line) { $start['ArgumentList'] = $line }
    $p = Start-Process @start
    # Reading Handle keeps the process handle, without which ExitCode comes back empty for a process started
    # with -NoNewWindow and waited for without -Wait (PowerShell/PowerShell#5421, the workaround given there).
    $null = $p.Handle
    $p.WaitForExit()
    $code = $p.ExitCode
    if ($code -eq 0) { return }
    if ($code -eq 3010) { $script:RebootRequired = $true; Write-Output "$(Split-Path -Leaf $Path) needs a restart to finish (3010)"; return }
    if ($code -eq 1641) { exit 195 }
    if ($code -eq 1618) { throw "$(Split-Path -Leaf $Path): another installation is in progress (1618, ERROR_INSTALL_ALREADY_RUNNING): let Windows Update or the Store finish, then run apply again" }
    throw "$Path exited with $code"
}

# The end of every apply that runs an installer or Windows Update: exit 194 once the whole script has run
# when one of them asked for a restart.
function Complete-Apply {
    if ($script:RebootRequired) { exit 194 }
}

# A firewall address as network + prefix length, so that the site's 10.0.0.0/8, the 10.0.0.0/255.0.0.0 that
# Get-NetFirewallAddressFilter returns (dsccommunity/NetworkingDsc#404 and #169), 1.2.3.4 and
# 1.2.3.4/255.255.255.255, or 2001:db8::1/64 and 2001:db8::/64, compare equal. "Any" and "*" become "any";
# a keyword (LocalSubnet, DNS...) or a range stays as lower-case text, which compares unequal to an address.
function ConvertTo-Network([string]$Text) {
    $t = $Text.Trim()
    if ($t -eq '*' -or $t -eq 'any') { return 'any' }
    $parts = $t -split '/', 2
    $ip = $null
    if (-not [System.Net.IPAddress]::TryParse($parts[0], [ref]$ip)) { return $t.ToLowerInvariant() }
    $bytes = $ip.GetAddressBytes()
    $max = $bytes.Length * 8
    if ($parts.Count -lt 2 -or $parts[1] -eq '') { $bits = $max }
    elseif ($parts[1] -match '^\d{1,3}$') { $bits = [int]$parts[1] }
    else {
        # A mask (255.255.240.0): its leading one bits; a mask with a hole in it is left as text.
        $mask = $null
        if (-not [System.Net.IPAddress]::TryParse($parts[1], [ref]$mask)) { return $t.ToLowerInvariant() }
        $bits = 0
        $zero = $false
        foreach ($b in $mask.GetAddressBytes()) {
            for ($i = 7; $i -ge 0; $i--) {
                if (($b -band (1 -shl $i)) -ne 0) { if ($zero) { return $t.ToLowerInvariant() }; $bits++ } else { $zero = $true }
            }
        }
    }
    if ($bits -gt $max) { return $t.ToLowerInvariant() }
    for ($i = 0; $i -lt $bytes.Length; $i++) {
        $netBits = [Math]::Max(0, [Math]::Min(8, $bits - 8 * $i))
        $bytes[$i] = $bytes[$i] -band ((0xFF -shl (8 - $netBits)) -band 0xFF)
    }
    return ('{0}/{1}' -f ([System.Net.IPAddress]::new($bytes)).ToString(), $bits)
}

# The names of this process's ancestors, nearest first (Windows PowerShell 5.1 has no Process.Parent): one
# Win32_Process query, then ParentProcessId links, stopping at a parent younger than its child (a reused id).
function Get-AncestorNames {
    $all = @{}
    foreach ($p in Get-CimInstance -ClassName Win32_Process -OperationTimeoutSec 30) { $all[[int]$p.ProcessId] = $p }
    $names = New-Object System.Collections.Generic.List[string]
    $cur = $all[[int]$PID]
    for ($depth = 0; $cur -and $depth -lt 32; $depth++) {
        $parent = $all[[int]$cur.ParentProcessId]
        if (-not $parent -or $parent.ProcessId -eq $cur.ProcessId) { break }
        if ($parent.CreationDate -and $cur.CreationDate -and $parent.CreationDate -gt $cur.CreationDate) { break }
        $names.Add(([string]$parent.Name).ToLowerInvariant())
        $cur = $parent
    }
    return @($names)
}

# The ports a remote session this process runs in came in on: RDP ($env:SESSIONNAME RDP-*, 3389), WinRM
# (wsmprovhost.exe among the ancestors, 5985 or 5986) and OpenSSH (sshd.exe among the ancestors, 22). handover
# runs PowerShell itself, so the parent is always handover.exe: the whole chain is walked.
function Get-RemoteSessionPorts {
    $ports = @()
    if ($env:SESSIONNAME -like 'RDP-*') { $ports += ,@(3389) }
    $names = Get-AncestorNames
    if ($names -contains 'wsmprovhost.exe') { $ports += ,@(5985, 5986) }
    if ($names -contains 'sshd.exe') { $ports += ,@(22) }
    return $ports
}

# A network logon (SSH, WinRM, psexec over the network) carries the NETWORK group, S-1-5-2.
# https://learn.microsoft.com/en-us/windows-server/identity/ad-ds/manage/understand-special-identities-groups#network
function Test-NetworkLogon {
    $me = [Security.Principal.WindowsIdentity]::GetCurrent()
    return [bool](@($me.Groups | Where-Object { $_.Value -eq 'S-1-5-2' }).Count -gt 0 -or @(Get-RemoteSessionPorts).Count -gt 0)
}

# SPEC 7: never cut the session handover runs over. Each remote session found must be let in by a site entry
# for one of its ports, or the change waits for --force-remote.
function Assert-SessionKept([int[]]$SitePorts) {
    if ($env:HANDOVER_FORCE_REMOTE) { return }
    foreach ($alternatives in Get-RemoteSessionPorts) {
        if (-not @($alternatives | Where-Object { $SitePorts -contains $_ })) {
            throw "refusing to change the firewall: this session comes in on port $($alternatives -join ' or '), which no [firewall] allow entry of the site covers; add one, or give --force-remote"
        }
    }
}

# The local security policy as secedit exports it (UTF-16; `net accounts` is not parsed: its labels are localised).
function Get-LocalSecurityPolicy {
    $inf = Join-Path $env:TEMP ("handover-secpol-{0}.inf" -f [guid]::NewGuid())
    try {
        $null = & secedit.exe /export /cfg $inf /areas SECURITYPOLICY /quiet
        if ($LASTEXITCODE -ne 0) { throw "secedit /export failed ($LASTEXITCODE)" }
        $lines = Get-Content -LiteralPath $inf -Encoding Unicode
    } finally {
        Remove-Item -LiteralPath $inf -ErrorAction SilentlyContinue
    }
    $policy = @{}
    foreach ($l in $lines) { if ($l -match '^\s*(\w+)\s*=\s*(.*?)\s*$') { $policy[$Matches[1]] = $Matches[2] } }
    return $policy
}

# Whether a local account's password is empty, without knowing it: LogonUser with an empty password fails
# with 1326 (ERROR_LOGON_FAILURE) when the account has a password, and succeeds or fails with 1327
# (ERROR_ACCOUNT_RESTRICTION, "blank passwords aren't allowed": "Accounts: Limit local account use of blank
# passwords to console logon only", on by default) when it has none; 1907 (must change) and 1330 (expired)
# also mean the empty password was right. Anything else cannot tell. Technique: codeproject.com "How to
# Detect Empty Password Users" (article 19992); policy: learn.microsoft.com, "Accounts: Limit local account
# use of blank passwords to console logon only". Side effect: for every account WITH a password this is one
# failed network logon: an event 4625 in the Security log and one count towards the lockout threshold
# (Windows 11 locks after 10 in 10 minutes by default), reset by the next good logon.
function Test-BlankPassword([string]$Name) {
    if (-not ('Handover.Logon' -as [type])) {
        Add-Type -Namespace Handover -Name Logon -MemberDefinition @'
[DllImport("advapi32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
public static extern bool LogonUser(string user, string domain, string password, int logonType, int provider, out IntPtr token);
[DllImport("kernel32.dll")]
public static extern bool CloseHandle(IntPtr handle);
'@
    }
    $token = [IntPtr]::Zero
    # LOGON32_LOGON_NETWORK (3), LOGON32_PROVIDER_DEFAULT (0), "." = this computer's accounts.
    $ok = [Handover.Logon]::LogonUser($Name, '.', '', 3, 0, [ref]$token)
    $err = [Runtime.InteropServices.Marshal]::GetLastWin32Error()
    if ($ok) { $null = [Handover.Logon]::CloseHandle($token); return 'blank' }
    if (@(1327, 1907, 1330) -contains $err) { return 'blank' }
    if ($err -eq 1326) { return 'set' }
    return "unknown ($err)"
}

# A key=value file such as LsAgent.ini, [sections] ignored, keys case-insensitive.
function Read-KeyValueFile([string]$Path) {
    $values = @{}
    foreach ($l in Get-Content -LiteralPath $Path -ErrorAction Stop) {
        if ($l -match '^\s*([^=\[;#]+?)\s*=\s*(.*?)\s*$') { $values[$Matches[1].ToLowerInvariant()] = $Matches[2] }
    }
    return $values
}

function Need-User {
    if (-not $env:HANDOVER_USER) { Result $false 'no user named: give --user NAME (handover remembers it from the handover apply)' }
}
