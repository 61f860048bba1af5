{{> windows/_lib.ps1}}
# ITP07 7.1.1: the build number names the release (19045 is 10 22H2; 22631, 26100, 26200, 28000, 26300 are 11
# 23H2, 24H2, 25H2, 26H1, 26H2) and the edition its support (Home/Pro or Enterprise/Education), read against the lifecycle table.
# Windows 10 after its end passes only with an active ESU licence on this device, not by the calendar.
$cv = Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
$build = [int]$cv.CurrentBuild
$edition = [string]$cv.EditionID
Obs 'build' $build
Obs 'edition' $edition
Obs 'lifecycle_source' {{lifecycle.source}}
$class = if ($edition -match '^(Enterprise|Education)') { 'enterprise-education' } else { 'home-pro' }
$rows = @(
{{#each lifecycle.releases}}
{{#if build}}
    [pscustomobject]@{ Build = [int]{{build}}; Editions = {{editions}}; Name = {{name}}; Regular = [int]{{regular_end_num}}; RegularText = {{regular_end}}; Extended = {{#if extended_end_num}}[int]{{extended_end_num}}{{else}}0{{/if}}; ExtendedText = {{#if extended_end}}{{extended_end}}{{else}}''{{/if}} }
{{/if}}
{{/each}}
)
$row = $rows | Where-Object { $_.Build -eq $build -and ($_.Editions -eq 'all' -or $_.Editions -eq $class) } | Select-Object -First 1
# A release the table does not know cannot be judged: error (not fail), naming the way to teach it.
if (-not $row) { Result $false "no lifecycle entry for build $build ($edition): this release is unknown to handover's lifecycle table; add it with handover lifecycle import" 'error' }
Obs 'name' $row.Name
$today = [int]$env:HANDOVER_TODAY
# Extended Security Updates count when an ESU product is licensed (LicenseStatus 1) on this device; their end
# is then the end of this device's support, else the regular end is (support_ends: handover warns from 90
# days before it).
$esuActive = $false
if ($row.Extended -gt 0) {
    $esu = @(Get-CimInstance -ClassName SoftwareLicensingProduct -Filter "PartialProductKey IS NOT NULL" -OperationTimeoutSec 60 |
        Where-Object { $_.Name -like '*ESU*' -and $_.LicenseStatus -eq 1 })
    Obs 'esu_licences' @($esu | ForEach-Object { $_.Name })
    $esuActive = $esu.Count -gt 0
}
if ($esuActive) { Obs 'support_ends' $row.ExtendedText } else { Obs 'support_ends' $row.RegularText }
if ($today -le $row.Regular) {
    if ($esuActive) { Result $true "$($row.Name): supported until $($row.RegularText), then ESU licence active until $($row.ExtendedText)" }
    Result $true "$($row.Name): supported until $($row.RegularText)"
}
if ($row.Extended -gt 0 -and $today -le $row.Extended) {
    if ($esuActive) { Result $true "$($row.Name): support ended $($row.RegularText); ESU licence active until $($row.ExtendedText)" }
    Result $false "$($row.Name): support ended $($row.RegularText); Extended Security Updates (until $($row.ExtendedText)) need an ESU licence, and none is active"
}
Result $false "$($row.Name): support ended $($row.RegularText): upgrade Windows or record an approved waiver (ITP07 10)"
