{{> windows/_lib.ps1}}
# ITP07 7.1.4 and 7.1.6(3): endpoint protection running, real-time on, tamper protection, definitions updated
# in the last 24 hours (AntivirusSignatureAge counts whole days and lets 47 hours through, so the timestamp
# is compared instead).
{{#if (eq site.endpoint.product "site")}}
$svc = Get-Service -Name {{site.endpoint.service}} -ErrorAction SilentlyContinue
if (-not $svc) { Result $false 'the site''s endpoint protection service is not installed' }
Obs 'status' ([string]$svc.Status)
Obs 'start_type' ([string]$svc.StartType)
if ($svc.Status -ne 'Running') { Problem "$($svc.Name) is not running" }
if ($svc.StartType -eq 'Disabled' -or $svc.StartType -eq 'Manual') { Problem "$($svc.Name) does not start at boot" }
Finish "the site's endpoint protection ($($svc.Name)) is running"
{{else}}
$s = Get-MpComputerStatus
Obs 'AMRunningMode' ([string]$s.AMRunningMode)
Obs 'RealTimeProtectionEnabled' $s.RealTimeProtectionEnabled
Obs 'IsTamperProtected' $s.IsTamperProtected
Obs 'AntivirusSignatureLastUpdated' ($s.AntivirusSignatureLastUpdated.ToUniversalTime().ToString('o'))
if (-not $s.AMServiceEnabled -or -not $s.AntivirusEnabled) { Problem 'Microsoft Defender Antivirus is not enabled' }
if ([string]$s.AMRunningMode -ne 'Normal') { Problem "Defender runs in $($s.AMRunningMode) mode: another product owns protection" }
if (-not $s.RealTimeProtectionEnabled) { Problem 'real-time protection is off' }
if (-not $s.IsTamperProtected) { Problem 'tamper protection is off' }
$now = [DateTimeOffset]::FromUnixTimeSeconds([long]$env:HANDOVER_NOW_EPOCH).UtcDateTime
$age = ($now - $s.AntivirusSignatureLastUpdated.ToUniversalTime()).TotalHours
Obs 'definitions_age_hours' ([math]::Round($age, 1))
if ($age -gt 24) { Problem ("definitions are {0:N0} hours old (more than 24)" -f $age) }
Finish 'Microsoft Defender on, real-time and tamper protection on, definitions from the last 24 hours'
{{/if}}
