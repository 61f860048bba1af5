# The site's firewall entries that may be opened, as handover names its rules: "handover <port>/<proto> from <source>".
$want = @(
{{#each firewall.allow}}
    [pscustomobject]@{ Port = [string]{{port}}; Proto = ([string]{{proto}}).ToUpper(); From = [string]{{from}} }
{{/each}}
)
$ours = @($want | ForEach-Object { "handover $($_.Port)/$($_.Proto) from $($_.From)" })
