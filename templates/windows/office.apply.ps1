{{> windows/_lib.ps1}}
# The Office Deployment Tool with the configuration.xml rendered from the site's [office] table (XML escaped).
if (-not $env:HANDOVER_ARTIFACT_OFFICE_ODT) { throw 'the office-odt artifact was not staged' }
$xml = $env:HANDOVER_FILE_OFFICE_CONFIGURATION_XML
[xml](Get-Content -LiteralPath $xml -Raw) | Out-Null
Invoke-Installer $env:HANDOVER_ARTIFACT_OFFICE_ODT @('/configure', "`"$xml`"")
