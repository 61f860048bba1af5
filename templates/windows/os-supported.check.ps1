{{> windows/_lib.ps1}}
# ITP07 7.1.1: the build number names the release (19045 is 10 22H2; 22631, 26100, 26200, 28000, 26300 are 11
# 23H2, 24H2, 25H2, 26H1, 26H2) and the edition its support (Home/Pro or Enterprise/Education), read against the lifecycle table.
# Windows 10 after its end passes only when this device is enrolled in Extended Security Updates, not by the calendar.
$cv = Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
$build = [int]$cv.CurrentBuild
$edition = [string]$cv.EditionID
Obs 'build' $build
Obs 'edition' $edition
Obs 'lifecycle_source' {{lifecycle.source}}
# The edition decides the servicing: LTSC (EditionID EnterpriseS, EnterpriseSN, IoTEnterpriseS...) has its own
# fixed lifecycle ("Windows 10 Long Term Servicing releases (LTSB/LTSC) have their own lifecycles and are NOT
# covered via the Windows 10 ESU program", learn.microsoft.com/windows/whats-new/enable-extended-security-updates);
# IoT Enterprise outside LTSC is serviced as Enterprise (learn.microsoft.com/lifecycle/products, "Windows 11 IoT
# Enterprise" rows carry the Enterprise dates); Pro Education as Pro.
$class = if ($edition -match '^IoTEnterpriseS') { 'iot-ltsc' } elseif ($edition -match '^EnterpriseS') { 'ltsc' } elseif ($edition -match '^(Enterprise|Education|IoTEnterprise)') { 'enterprise-education' } else { 'home-pro' }
Obs 'servicing' $class
$rows = @(
{{#each lifecycle.releases}}
{{#if build}}
    [pscustomobject]@{ Build = [int]{{build}}; Editions = {{editions}}; Name = {{name}}; Regular = [int]{{regular_end_num}}; RegularText = {{regular_end}}; Extended = {{#if extended_end_num}}[int]{{extended_end_num}}{{else}}0{{/if}}; ExtendedText = {{#if extended_end}}{{extended_end}}{{else}}''{{/if}} }
{{/if}}
{{/each}}
)
$row = $rows | Where-Object { $_.Build -eq $build -and ($_.Editions -eq 'all' -or $_.Editions -eq $class) } | Select-Object -First 1
# A release the table does not know cannot be judged: error (not fail), naming the way to teach it.
if (-not $row -and $class -like '*ltsc') { Result $false "$edition (LTSC) build ${build}: the Long-Term Servicing Channel has its own lifecycle, and handover's lifecycle table has no row for this build (editions = `"$class`"); add one with handover lifecycle import" 'error' }
if (-not $row) { Result $false "no lifecycle entry for build $build ($edition): this release is unknown to handover's lifecycle table; add it with handover lifecycle import" 'error' }
Obs 'name' $row.Name
$today = [int]$env:HANDOVER_TODAY
# Extended Security Updates count when this device is enrolled: commercial ESU by its licence, activated by
# one of the three ESU activation IDs Microsoft publishes (year 1, 2, 3: learn.microsoft.com/windows/whats-new/
# enable-extended-security-updates) with LicenseStatus 1; consumer ESU by its enrolment, which is no licence
# (`slmgr /dlv` "is for key-based Commercial ESU; Consumer ESU status is only the message you see in Windows
# Update", abbodi1406/ConsumerESU#16) but per-user state under HKCU\SOFTWARE\Microsoft\Windows NT\CurrentVersion\
# Windows\ConsumerESU: ESUEligibility 3 (DeviceEnrolled), 5 (MSAEnrolled), 11 or 12 (EEA enrolled) with
# ESUEligibilityResult 1 (SUCCESS) (abbodi1406/ConsumerESU#2, #33; the values as Consumer_ESU_Enrollment.ps1
# names them). Each account has its own (#10), and SYSTEM has no HKCU of a person: every loaded profile is read
# under HKEY_USERS\<SID>; a device nobody is signed in to shows none. No machine-wide indicator is documented.
# Consumer ESU lasts one year, to 2026-10-13 (Microsoft, "Windows 10 Consumer Extended Security Updates (ESU)
# program"); commercial ESU to the table's extended end.
$esuActive = $false
$esuEnd = 0
$esuEndText = ''
if ($row.Extended -gt 0) {
    $ids = 'f520e45e-7413-4a34-a497-d2765967d094', '1043add5-23b1-4afb-9a0f-64343c8f3f8d', '83d49986-add3-41d7-ba33-87c7bfb5c0fb'
    $filter = ($ids | ForEach-Object { "ID = '$_'" }) -join ' OR '
    $esu = @(Get-CimInstance -ClassName SoftwareLicensingProduct -Filter $filter -OperationTimeoutSec 60 | Where-Object { $_.LicenseStatus -eq 1 })
    Obs 'esu_licences' @($esu | ForEach-Object { $_.Name })
    if ($esu.Count -gt 0) { $esuActive = $true; $esuEnd = $row.Extended; $esuEndText = $row.ExtendedText }
    $consumer = @()
    foreach ($hive in Get-ChildItem -Path 'Registry::HKEY_USERS' -ErrorAction SilentlyContinue | Where-Object { $_.PSChildName -match '^S-1-5-21-[\d-]+$' }) {
        $c = Get-ItemProperty -Path "Registry::HKEY_USERS\$($hive.PSChildName)\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Windows\ConsumerESU" -ErrorAction SilentlyContinue
        if ($c -and $c.PSObject.Properties['ESUEligibility'] -and $c.PSObject.Properties['ESUEligibilityResult'] -and
            @(3, 5, 11, 12) -contains [int]$c.ESUEligibility -and [int]$c.ESUEligibilityResult -eq 1) { $consumer += $hive.PSChildName }
    }
    Obs 'consumer_esu_enrolled_profiles' $consumer
    if (-not $esuActive -and $consumer.Count -gt 0) { $esuActive = $true; $esuEnd = [int]'20261013'; $esuEndText = '2026-10-13 (consumer ESU)' }
}
if ($esuActive) { Obs 'support_ends' $esuEndText } else { Obs 'support_ends' $row.RegularText }
if ($today -le $row.Regular) {
    if ($esuActive) { Result $true "$($row.Name): supported until $($row.RegularText), then ESU until $esuEndText" }
    Result $true "$($row.Name): supported until $($row.RegularText)"
}
if ($row.Extended -gt 0 -and $today -le $row.Extended) {
    if ($esuActive -and $today -le $esuEnd) { Result $true "$($row.Name): support ended $($row.RegularText); enrolled in Extended Security Updates until $esuEndText" }
    if ($esuActive) { Result $false "$($row.Name): support ended $($row.RegularText); its Extended Security Updates ended $esuEndText: a commercial ESU licence (until $($row.ExtendedText)) or an upgrade is needed" }
    Result $false "$($row.Name): support ended $($row.RegularText); Extended Security Updates (until $($row.ExtendedText)) need an ESU licence or consumer ESU enrolment, and none is active (consumer enrolment shows only while the enrolled user is signed in)"
}
Result $false "$($row.Name): support ended $($row.RegularText): upgrade Windows or record an approved waiver (ITP07 10)"
