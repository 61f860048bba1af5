{{> windows/_lib.ps1}}
{{> windows/_gpo.ps1}}
# ITP07 7.1 (controls equivalent to managed devices), Cyber Essentials "device unlocking": the device locks
# after at most the site's idle minutes and unlocking needs the account's credentials.
# What passes: the machine inactivity limit, Security Option "Interactive logon: Machine inactivity limit"
# (HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System InactivityTimeoutSecs, 1 to 599940 seconds,
# 0 = no limit): after that long without input Windows locks the session, which only the account's password,
# PIN or Windows Hello opens (learn.microsoft.com/windows/security/threat-protection/security-policy-settings/
# interactive-logon-machine-inactivity-limit). Set by Intune it is the Policy CSP
# LocalPoliciesSecurityOptions/InteractiveLogon_MachineInactivityLimit.
# Decision: a password-protected screen saver does not pass on its own. Its settings (ScreenSaveActive,
# ScreenSaverIsSecure, ScreenSaveTimeOut) are per user, under HKCU, where the user can change them unless a user
# policy holds them, and a policy for one user leaves every other and every later account unlocked; the
# machine limit covers every session. The named user's screen-saver policy is shown when the user's hive is
# loaded (signed in), as evidence only.
$wantMin = [int]{{site.device_lock.idle_minutes}}
$wantSecs = $wantMin * 60
Obs 'required' "lock after at most $wantMin min idle"
$key = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System'
$secs = Get-DwordValue $key 'InactivityTimeoutSecs'
Obs 'InactivityTimeoutSecs' $secs
$mdm = Get-DwordValue 'HKLM:\SOFTWARE\Microsoft\PolicyManager\current\device\LocalPoliciesSecurityOptions' 'InteractiveLogon_MachineInactivityLimit'
Obs 'mdm_MachineInactivityLimit' $mdm
if ($env:HANDOVER_USER) {
    $u = Get-LocalUser -Name $env:HANDOVER_USER -ErrorAction SilentlyContinue
    if ($u) {
        $ss = Get-ItemProperty -Path ("Registry::HKEY_USERS\{0}\Software\Policies\Microsoft\Windows\Control Panel\Desktop" -f $u.SID.Value) -ErrorAction SilentlyContinue
        if ($ss) {
            Obs 'user_screensaver_policy' ('ScreenSaveActive {0}, ScreenSaverIsSecure {1}, ScreenSaveTimeOut {2}' -f $ss.ScreenSaveActive, $ss.ScreenSaverIsSecure, $ss.ScreenSaveTimeOut)
        }
    }
}
if ($null -ne $secs -and $secs -ge 1 -and $secs -le $wantSecs) {
    Result $true "Windows locks every session after $secs s without input (machine inactivity limit; at most $wantSecs)"
}
if ($null -eq $secs -or $secs -eq 0) {
    $why = 'no machine inactivity limit is set (InactivityTimeoutSecs absent or 0: sessions never lock by themselves)'
} else {
    $why = "the machine inactivity limit is $secs s, more than $wantSecs"
}
if ($null -ne $mdm) { Result $false "managed by MDM (LocalPoliciesSecurityOptions/InteractiveLogon_MachineInactivityLimit = $mdm): $why; change it in the device-management service" 'error' }
$gpo = Get-GpoOwner 'Software\Microsoft\Windows\CurrentVersion\Policies\System' 'InactivityTimeoutSecs'
if ($gpo) { Result $false "managed by Group Policy '$gpo': $why; change it in that GPO" 'error' }
Result $false $why
