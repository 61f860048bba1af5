{{> windows/_lib.ps1}}
# ITP07 7.1.2 "rename OS built-in accounts like 'Administrator', 'Guest' and ... disable accounts": the account
# with the well-known relative id of the profile (500 administrator, 501 guest) renamed to the site's name and disabled.
$want = {{lookup site.accounts params.name_key}}
$a = Get-BuiltinAccount ([int]{{params.rid}})
if (-not $a) { Result $true 'no such built-in account on this device' }
Obs 'name' $a.Name
Obs 'enabled' $a.Enabled
Obs 'sid' $a.SID.Value
if ($a.Name -ne $want) { Problem "the built-in account is named $($a.Name), not $want" }
if ($a.Enabled) { Problem "the built-in account $($a.Name) is enabled" }
Finish "the built-in account is renamed to $want and disabled"
