{{> windows/_lib.ps1}}
# The Office Deployment Tool with the configuration.xml rendered from the site's [office] table (XML escaped).
if (-not $env:HANDOVER_ARTIFACT_OFFICE_ODT) { throw 'the office-odt artifact was not staged' }
$xml = $env:HANDOVER_FILE_OFFICE_CONFIGURATION_XML
$doc = [xml](Get-Content -LiteralPath $xml -Raw)
if ($env:HANDOVER_ARTIFACT_OFFICE_SOURCE) {
  # The offline source, staged and verified file by file: ODT installs from it, not from the CDN.
  # https://learn.microsoft.com/en-us/microsoft-365-apps/deploy/office-deployment-tool-configuration-options#sourcepath-attribute-part-of-add-element
  $doc.Configuration.Add.SetAttribute('SourcePath', $env:HANDOVER_ARTIFACT_OFFICE_SOURCE)
  $doc.Save($xml)
}
Invoke-Installer $env:HANDOVER_ARTIFACT_OFFICE_ODT @('/configure', $xml)
Complete-Apply
