//! The Windows section of BENCHMARKS.md (issue 18, item 3): what a `check` costs on Windows, **not
//! measured here** (no Windows device runs handover here) but counted from the rendered scripts and
//! priced with the figures Microsoft documents. `cargo xtask bench --windows-only` prints it.
//!
//! Counted by code, never written by hand per check:
//! * the PowerShell processes a run starts: the engine's one batch process (`templates/windows/_batch.ps1`,
//!   run by `check_batch` as one script; `tests/windows_cost.rs` proves it against the engine) plus every
//!   place a rendered check script or the batch would start another one (`powershell`/`pwsh` run as a
//!   program, `Start-Process powershell`, `Start-Job`, remoting, an out-of-process runspace), and the
//!   runspaces (in-process: `[powershell]::Create()`, a runspace pool);
//! * per check, the cmdlets its code can reach (its own statements and the `_lib.ps1` functions it
//!   calls), mapped to their PowerShell modules by [`MODULES`], the external programs it starts, and the
//!   COM objects it creates.
//!
//! The same file is compiled into the integration tests (`tests/windows_cost.rs` includes it by path), so
//! the test and the benchmark count with one piece of code. It needs only std and anyhow.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Every cmdlet the Windows scripts may call, with the module Windows PowerShell 5.1 loads it from
/// (learn.microsoft.com/powershell/module/<module>/<cmdlet>?view=powershell-5.1, and the Windows
/// module references for NetSecurity, Defender, BitLocker, Dism and LocalAccounts). A cmdlet the scripts
/// call that is missing here fails `tests/windows_cost.rs`: the table cannot silently fall behind.
pub const MODULES: &[(&str, &str)] = &[
    // Microsoft.PowerShell.Core is built into every session and runspace: nothing to load.
    ("ForEach-Object", CORE),
    ("Where-Object", CORE),
    ("Get-Command", CORE),
    ("Set-StrictMode", CORE),
    ("Out-Null", CORE),
    ("Start-Job", CORE),
    ("Receive-Job", CORE),
    ("Wait-Job", CORE),
    ("Invoke-Command", CORE),
    ("New-PSSession", CORE),
    ("Enter-PSSession", CORE),
    ("Import-Module", CORE),
    ("Add-Type", "Microsoft.PowerShell.Utility"),
    ("ConvertFrom-Json", "Microsoft.PowerShell.Utility"),
    ("ConvertTo-Json", "Microsoft.PowerShell.Utility"),
    ("Get-Date", "Microsoft.PowerShell.Utility"),
    ("Get-Variable", "Microsoft.PowerShell.Utility"),
    ("New-Object", "Microsoft.PowerShell.Utility"),
    ("Select-Object", "Microsoft.PowerShell.Utility"),
    ("Select-String", "Microsoft.PowerShell.Utility"),
    ("Start-Sleep", "Microsoft.PowerShell.Utility"),
    ("Write-Output", "Microsoft.PowerShell.Utility"),
    ("Invoke-Expression", "Microsoft.PowerShell.Utility"),
    ("Get-ChildItem", "Microsoft.PowerShell.Management"),
    ("Get-Content", "Microsoft.PowerShell.Management"),
    ("Get-ItemProperty", "Microsoft.PowerShell.Management"),
    ("Get-Process", "Microsoft.PowerShell.Management"),
    ("Get-Service", "Microsoft.PowerShell.Management"),
    ("Join-Path", "Microsoft.PowerShell.Management"),
    ("New-Item", "Microsoft.PowerShell.Management"),
    ("Remove-Item", "Microsoft.PowerShell.Management"),
    ("Set-Content", "Microsoft.PowerShell.Management"),
    ("Set-ItemProperty", "Microsoft.PowerShell.Management"),
    ("Set-Service", "Microsoft.PowerShell.Management"),
    ("Split-Path", "Microsoft.PowerShell.Management"),
    ("Start-Process", "Microsoft.PowerShell.Management"),
    ("Start-Service", "Microsoft.PowerShell.Management"),
    ("Test-Path", "Microsoft.PowerShell.Management"),
    ("ConvertTo-SecureString", "Microsoft.PowerShell.Security"),
    ("Add-LocalGroupMember", LOCAL_ACCOUNTS),
    ("Disable-LocalUser", LOCAL_ACCOUNTS),
    ("Enable-LocalUser", LOCAL_ACCOUNTS),
    ("Get-LocalGroup", LOCAL_ACCOUNTS),
    ("Get-LocalGroupMember", LOCAL_ACCOUNTS),
    ("Get-LocalUser", LOCAL_ACCOUNTS),
    ("New-LocalUser", LOCAL_ACCOUNTS),
    ("Remove-LocalGroupMember", LOCAL_ACCOUNTS),
    ("Rename-LocalUser", LOCAL_ACCOUNTS),
    ("Set-LocalUser", LOCAL_ACCOUNTS),
    ("Disable-NetFirewallRule", "NetSecurity"),
    ("Get-NetFirewallAddressFilter", "NetSecurity"),
    ("Get-NetFirewallApplicationFilter", "NetSecurity"),
    ("Get-NetFirewallPortFilter", "NetSecurity"),
    ("Get-NetFirewallProfile", "NetSecurity"),
    ("Get-NetFirewallRule", "NetSecurity"),
    ("New-NetFirewallRule", "NetSecurity"),
    ("Set-NetFirewallProfile", "NetSecurity"),
    ("Set-NetFirewallRule", "NetSecurity"),
    ("Get-MpComputerStatus", "Defender"),
    ("Set-MpPreference", "Defender"),
    ("Update-MpSignature", "Defender"),
    ("Get-BitLockerVolume", "BitLocker"),
    ("Get-AppxProvisionedPackage", "Dism"),
    ("Get-CimInstance", "CimCmdlets"),
    ("Get-WmiObject", "Microsoft.PowerShell.Management"),
];

const CORE: &str = "Microsoft.PowerShell.Core";
/// The modules of Windows PowerShell's built-in commands: in every runspace the batch opens, whether a
/// check uses them or not (every check uses Utility anyway: `Result` calls ConvertTo-Json).
const BUILT_IN: &[&str] = &[
    CORE,
    "Microsoft.PowerShell.Management",
    "Microsoft.PowerShell.Utility",
    "Microsoft.PowerShell.Security",
];
const LOCAL_ACCOUNTS: &str = "Microsoft.PowerShell.LocalAccounts";

/// Aliases a script might use instead of a cmdlet's name: `start powershell` is `Start-Process`.
const ALIASES: &[(&str, &str)] = &[
    ("%", "ForEach-Object"),
    ("foreach-object", "ForEach-Object"),
    ("?", "Where-Object"),
    ("where", "Where-Object"),
    ("select", "Select-Object"),
    ("start", "Start-Process"),
    ("saps", "Start-Process"),
    ("sajb", "Start-Job"),
    ("icm", "Invoke-Command"),
    ("iex", "Invoke-Expression"),
    ("nsn", "New-PSSession"),
    ("etsn", "Enter-PSSession"),
    ("sleep", "Start-Sleep"),
    ("echo", "Write-Output"),
    ("write", "Write-Output"),
    ("gci", "Get-ChildItem"),
    ("ls", "Get-ChildItem"),
    ("dir", "Get-ChildItem"),
    ("gc", "Get-Content"),
    ("cat", "Get-Content"),
    ("gp", "Get-ItemProperty"),
    ("gsv", "Get-Service"),
    ("gps", "Get-Process"),
    ("ps", "Get-Process"),
    ("gcim", "Get-CimInstance"),
    ("gwmi", "Get-WmiObject"),
    ("ipmo", "Import-Module"),
];

/// Words that begin a statement without being a command.
const KEYWORDS: &[&str] = &[
    "begin",
    "break",
    "catch",
    "class",
    "continue",
    "data",
    "default",
    "do",
    "dynamicparam",
    "else",
    "elseif",
    "end",
    "enum",
    "exit",
    "filter",
    "finally",
    "for",
    "foreach",
    "function",
    "if",
    "in",
    "param",
    "process",
    "return",
    "switch",
    "throw",
    "trap",
    "try",
    "until",
    "using",
    "while",
];

/// Programs that are a new PowerShell process.
const POWERSHELL_PROGRAMS: &[&str] = &["powershell", "pwsh", "powershell_ise"];

/// A figure Microsoft documents (or the lack of one), with the page it is on.
pub struct Documented {
    pub what: &'static str,
    /// `None`: Microsoft gives no figure, and none is invented here.
    pub figure: Option<&'static str>,
    pub source: &'static str,
}

const WMF51: &str = "https://docs.microsoft.com/en-us/powershell/wmf/5.1/engine-improvements";
const ABOUT_MODULES: &str = "https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_modules?view=powershell-5.1";

/// What one PowerShell process start costs: the only cost of the run Microsoft gives a figure for.
pub const POWERSHELL_START: Documented = Documented {
    what: "starting powershell.exe (Windows PowerShell 5.1)",
    figure: Some(
        "about 250 ms for `powershell -command \"echo 1\"` (900 ms on 5.0), 520 ms when the command is not found and the module analysis cache is built, 13 s on the first PowerShell run ever on a device (Microsoft's example figures, \"your results may vary depending on your hardware\")",
    ),
    source: WMF51,
};

/// What a runspace costs: in-process, no process start.
pub const RUNSPACE: Documented = Documented {
    what: "a runspace ([powershell]::Create()): a thread of the same process",
    figure: None,
    source: "https://github.com/PowerShell/ThreadJob (the PowerShell team: Start-Job jobs \"are run in separate processes\" and are \"resource heavy\"; runspace-based jobs \"run in separate threads within the local process\")",
};

/// The built-in commands' modules, in every runspace.
pub const BUILT_IN_COMMANDS: Documented = Documented {
    what: "Microsoft.PowerShell.Core, Management, Utility and Security, in every check's runspace: InitialSessionState.CreateDefault loads all built-in commands when a runspace opens (CreateDefault2 only Core, the rest then loading on first use; which one a bare [powershell]::Create() uses is our reading, not said there); not listed per check below",
    figure: None,
    source: "https://learn.microsoft.com/powershell/scripting/developer/hosting/creating-an-initialsessionstate",
};

/// What loading each module costs, per runspace (every check runs in a fresh runspace, so a module two
/// checks use is loaded twice).
pub fn module_cost(module: &str) -> Documented {
    let (what, source) = match module {
        CORE => (
            "built into every runspace: nothing is loaded",
            "https://learn.microsoft.com/powershell/module/microsoft.powershell.core/?view=powershell-5.1",
        ),
        "Defender" => (
            "CDXML functions over the MSFT_Mp* CIM classes (a CIM query to the Defender service)",
            "https://learn.microsoft.com/powershell/module/defender/",
        ),
        "NetSecurity" => (
            "CDXML functions over the MSFT_NetFirewall* CIM classes (root/standardcimv2)",
            "https://learn.microsoft.com/powershell/module/netsecurity/",
        ),
        "BitLocker" => (
            "module loaded on first use; reads Win32_EncryptableVolume",
            "https://learn.microsoft.com/powershell/module/bitlocker/",
        ),
        "Dism" => (
            "module loaded on first use; Get-AppxProvisionedPackage -Online opens a DISM session on the running image",
            "https://learn.microsoft.com/powershell/module/dism/get-appxprovisionedpackage",
        ),
        LOCAL_ACCOUNTS => (
            "module loaded on first use",
            "https://learn.microsoft.com/powershell/module/microsoft.powershell.localaccounts/?view=powershell-5.1",
        ),
        "CimCmdlets" => (
            "module loaded on first use; each Get-CimInstance is a WMI query",
            "https://learn.microsoft.com/powershell/module/cimcmdlets/get-ciminstance?view=powershell-5.1",
        ),
        _ => ("module loaded on first use of one of its commands", ABOUT_MODULES),
    };
    Documented {
        what,
        figure: None,
        source,
    }
}

/// What starting each external program costs.
pub fn program_cost(program: &str) -> Documented {
    let (what, source) = match program {
        "csc.exe" => (
            "Add-Type compiles its C# source with the C# code provider (its -CodeDomProvider default); that this starts the compiler csc.exe on the .NET Framework that Windows PowerShell 5.1 runs on is our inference, not said on these pages",
            "https://learn.microsoft.com/powershell/module/microsoft.powershell.utility/add-type?view=powershell-5.1, https://learn.microsoft.com/dotnet/api/microsoft.csharp.csharpcodeprovider",
        ),
        "secedit.exe" => (
            "exports the local security policy to a file",
            "https://learn.microsoft.com/windows-server/administration/windows-commands/secedit-export",
        ),
        "dsregcmd.exe" => (
            "prints the device's join state",
            "https://learn.microsoft.com/entra/identity/devices/troubleshoot-device-dsregcmd",
        ),
        "net.exe" => (
            "net user",
            "https://learn.microsoft.com/windows-server/administration/windows-commands/net-user",
        ),
        _ => ("a process start", "https://learn.microsoft.com/windows/win32/procthread/creating-processes"),
    };
    Documented {
        what,
        figure: None,
        source,
    }
}

/// A token of PowerShell, as far as counting needs: comments dropped, strings kept whole, and the
/// subexpressions `$(...)` of double-quoted strings lexed as code.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Str(String),
    Punct(char),
    /// End of a statement: a newline or `;`.
    End,
}

const SINGLE_QUOTES: &[char] = &['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];
const DOUBLE_QUOTES: &[char] = &['"', '\u{201C}', '\u{201D}', '\u{201E}'];
const PUNCT: &[char] = &[
    '(', ')', '{', '}', '[', ']', ',', '|', '&', '=', '<', '>', '@',
];

fn lex(text: &str) -> Vec<Tok> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        let boundary =
            i == 0 || c[i - 1].is_whitespace() || PUNCT.contains(&c[i - 1]) || c[i - 1] == ';';
        if ch == '\n' || ch == ';' {
            out.push(Tok::End);
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '`' && c.get(i + 1).is_some_and(|n| *n == '\n' || *n == '\r') {
            // A line continuation.
            i += 2;
        } else if ch == '<' && c.get(i + 1) == Some(&'#') {
            i = find(&c, i + 2, &['#', '>']).map_or(c.len(), |e| e + 2);
        } else if ch == '#' && boundary {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '@'
            && c.get(i + 1)
                .is_some_and(|q| SINGLE_QUOTES.contains(q) || DOUBLE_QUOTES.contains(q))
            && c[i + 2..]
                .iter()
                .take_while(|x| **x != '\n')
                .all(|x| x.is_whitespace())
        {
            // A here-string: to a line that starts with the closing quote and @.
            let q = c[i + 1];
            let start = i + 2;
            let end = find(&c, start, &['\n', q, '@']).unwrap_or(c.len());
            let body: String = c[start..end.min(c.len())].iter().collect();
            if DOUBLE_QUOTES.contains(&q) {
                subexpressions(&body, &mut out);
            }
            out.push(Tok::Str(body));
            i = (end + 3).min(c.len());
        } else if SINGLE_QUOTES.contains(&ch) {
            let mut s = String::new();
            i += 1;
            while i < c.len() {
                if SINGLE_QUOTES.contains(&c[i]) {
                    if c.get(i + 1).is_some_and(|n| SINGLE_QUOTES.contains(n)) {
                        s.push(c[i]);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                s.push(c[i]);
                i += 1;
            }
            out.push(Tok::Str(s));
        } else if DOUBLE_QUOTES.contains(&ch) {
            let mut s = String::new();
            i += 1;
            while i < c.len() {
                if c[i] == '`' && i + 1 < c.len() {
                    s.push(c[i]);
                    s.push(c[i + 1]);
                    i += 2;
                    continue;
                }
                if DOUBLE_QUOTES.contains(&c[i]) {
                    if c.get(i + 1).is_some_and(|n| DOUBLE_QUOTES.contains(n)) {
                        s.push(c[i]);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                if c[i] == '$' && c.get(i + 1) == Some(&'(') {
                    // Keep the whole subexpression, nested parentheses and strings included.
                    let close = matching_paren(&c, i + 1);
                    s.extend(&c[i..close.min(c.len())]);
                    i = close;
                    continue;
                }
                s.push(c[i]);
                i += 1;
            }
            subexpressions(&s, &mut out);
            out.push(Tok::Str(s));
        } else if ch == '$' && c.get(i + 1) == Some(&'{') {
            // A braced variable name, ${env:ProgramFiles(x86)}: one word, whatever it holds.
            let end = (i..c.len()).find(|&k| c[k] == '}').unwrap_or(c.len());
            out.push(Tok::Word(c[i..(end + 1).min(c.len())].iter().collect()));
            i = end + 1;
        } else if PUNCT.contains(&ch) {
            out.push(Tok::Punct(ch));
            i += 1;
        } else {
            let mut w = String::new();
            while i < c.len() {
                let x = c[i];
                if x.is_whitespace()
                    || x == ';'
                    || PUNCT.contains(&x)
                    || SINGLE_QUOTES.contains(&x)
                    || DOUBLE_QUOTES.contains(&x)
                {
                    break;
                }
                if x == '`' && i + 1 < c.len() {
                    w.push(c[i + 1]);
                    i += 2;
                    continue;
                }
                w.push(x);
                i += 1;
            }
            out.push(Tok::Word(w));
        }
    }
    out
}

/// The first index at or after `from` where `pat` starts.
fn find(c: &[char], from: usize, pat: &[char]) -> Option<usize> {
    (from..c.len().saturating_sub(pat.len() - 1)).find(|&k| c[k..k + pat.len()] == *pat)
}

/// The index just past the `)` that closes the `(` at `open` (quotes inside are skipped over).
fn matching_paren(c: &[char], open: usize) -> usize {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    let mut k = open;
    while k < c.len() {
        let x = c[k];
        match quote {
            Some(q) if x == q => quote = None,
            Some(_) => {}
            None if x == '\'' || x == '"' => quote = Some(x),
            None if x == '(' => depth += 1,
            None if x == ')' => {
                depth -= 1;
                if depth == 0 {
                    return k + 1;
                }
            }
            None => {}
        }
        k += 1;
    }
    c.len()
}

/// The `$(...)` subexpressions of a double-quoted string, lexed as code between statement ends.
fn subexpressions(s: &str, out: &mut Vec<Tok>) {
    let c: Vec<char> = s.chars().collect();
    let mut k = 0;
    while k + 1 < c.len() {
        if c[k] == '$' && c[k + 1] == '(' {
            let close = matching_paren(&c, k + 1);
            let inner: String = c[k + 2..close.saturating_sub(1).max(k + 2)]
                .iter()
                .collect();
            out.push(Tok::End);
            out.extend(lex(&inner));
            out.push(Tok::End);
            k = close;
        } else {
            k += 1;
        }
    }
}

/// What one script (a check, or the batch) does that costs something.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Cost {
    /// Cmdlets its reachable code calls (functions of the script itself excluded).
    pub cmdlets: BTreeSet<String>,
    /// Programs it starts: a name such as `secedit.exe`, `csc.exe` (Add-Type), or `a program named at
    /// run time`.
    pub programs: BTreeSet<String>,
    /// COM objects it creates (`New-Object -ComObject`).
    pub com: BTreeSet<String>,
    /// Places that would start another PowerShell process, each described.
    pub powershell_starts: Vec<String>,
    /// Places that create a runspace (in-process), each described.
    pub runspaces: Vec<String>,
    /// How many places run a CIM/WMI query (`Get-CimInstance`, `Get-WmiObject`).
    pub cim_queries: usize,
    /// Cmdlets reached only from a `catch` (or `trap`) block: they cost nothing while nothing fails.
    pub on_error_cmdlets: BTreeSet<String>,
    /// Programs started only from a `catch` block.
    pub on_error_programs: BTreeSet<String>,
    /// CIM/WMI query places reached only from a `catch` block.
    pub on_error_cim_queries: usize,
}

impl Cost {
    /// The modules its cmdlets come from (Core included); a cmdlet missing from [`MODULES`] is `?NAME`.
    pub fn modules(&self) -> BTreeSet<String> {
        self.cmdlets
            .iter()
            .map(|c| module_of(c).map_or_else(|| format!("?{c}"), str::to_string))
            .collect()
    }

    /// The modules that are loaded on use (everything but the built-in commands' modules).
    pub fn loaded_modules(&self) -> BTreeSet<String> {
        self.modules()
            .into_iter()
            .filter(|m| !BUILT_IN.contains(&m.as_str()))
            .collect()
    }

    /// The modules loaded only when something failed (not otherwise loaded).
    pub fn on_error_modules(&self) -> BTreeSet<String> {
        let always = self.modules();
        self.on_error_cmdlets
            .iter()
            .map(|c| module_of(c).map_or_else(|| format!("?{c}"), str::to_string))
            .filter(|m| !BUILT_IN.contains(&m.as_str()) && !always.contains(m))
            .collect()
    }

    /// Cmdlets that are in no module of [`MODULES`].
    pub fn unknown_cmdlets(&self) -> Vec<String> {
        self.cmdlets
            .iter()
            .chain(&self.on_error_cmdlets)
            .filter(|c| module_of(c).is_none())
            .cloned()
            .collect()
    }
}

pub fn module_of(cmdlet: &str) -> Option<&'static str> {
    MODULES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(cmdlet))
        .map(|(_, m)| *m)
}

/// A cmdlet's name as [`MODULES`] spells it (PowerShell ignores case).
fn canonical(cmdlet: &str) -> String {
    MODULES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(cmdlet))
        .map_or(cmdlet, |(c, _)| *c)
        .to_string()
}

fn alias(word: &str) -> Option<&'static str> {
    ALIASES
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(word))
        .map(|(_, c)| *c)
}

/// A Verb-Noun command name (not a parameter, variable, number or path).
fn is_cmdlet_name(w: &str) -> bool {
    let Some((verb, noun)) = w.split_once('-') else {
        return false;
    };
    verb.len() >= 2
        && verb.chars().all(|c| c.is_ascii_alphabetic())
        && verb.starts_with(|c: char| c.is_ascii_uppercase())
        && !noun.is_empty()
        && noun.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The program a word or string names: its last path component, lower-case.
fn program_name(s: &str) -> String {
    s.rsplit(['\\', '/'])
        .next()
        .unwrap_or(s)
        .to_ascii_lowercase()
}

fn is_powershell(program: &str) -> bool {
    let p = program.trim_end_matches(".exe");
    POWERSHELL_PROGRAMS.contains(&p)
}

/// The functions a script defines: name (lower-case) → the token range of its body.
fn functions(toks: &[Tok]) -> BTreeMap<String, (usize, usize)> {
    let mut out = BTreeMap::new();
    let mut i = 0;
    while i < toks.len() {
        if let (Tok::Word(kw), Some(Tok::Word(name))) = (&toks[i], toks.get(i + 1)) {
            if kw.eq_ignore_ascii_case("function") || kw.eq_ignore_ascii_case("filter") {
                if let Some(open) = (i + 2..toks.len()).find(|&k| toks[k] == Tok::Punct('{')) {
                    let close = matching_brace(toks, open);
                    out.insert(name.to_ascii_lowercase(), (open + 1, close));
                    i = open + 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

fn matching_brace(toks: &[Tok], open: usize) -> usize {
    let mut depth = 0;
    for (k, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    toks.len()
}

/// What a script costs: its top-level code, and the bodies of the functions that code calls (directly
/// or through other functions).
pub fn analyse(text: &str) -> Cost {
    let toks = lex(text);
    let funcs = functions(&toks);
    let mut in_function = vec![false; toks.len()];
    for (a, b) in funcs.values() {
        for f in in_function.iter_mut().take(*b).skip(*a) {
            *f = true;
        }
    }
    // [normal path, reached only from a catch block]
    let mut costs = [Cost::default(), Cost::default()];
    let mut seen = BTreeSet::new();
    let mut todo: Vec<((usize, usize), bool)> = Vec::new();
    let top: Vec<usize> = (0..toks.len()).filter(|&k| !in_function[k]).collect();
    let mut called = Vec::new();
    scan(&toks, &top, &funcs, false, &mut costs, &mut called);
    loop {
        for (f, err) in called.drain(..) {
            if seen.insert((f.clone(), err)) {
                todo.push((funcs[&f], err));
            }
        }
        let Some(((a, b), err)) = todo.pop() else {
            break;
        };
        // A function body, minus the functions nested in it (scanned when called).
        let nested: BTreeSet<usize> = funcs
            .values()
            .filter(|(x, y)| *x > a && *y <= b)
            .flat_map(|(x, y)| *x..*y)
            .collect();
        let body: Vec<usize> = (a..b).filter(|k| !nested.contains(k)).collect();
        scan(&toks, &body, &funcs, err, &mut costs, &mut called);
    }
    let [mut cost, err] = costs;
    cost.on_error_cmdlets = err.cmdlets.difference(&cost.cmdlets).cloned().collect();
    cost.on_error_programs = err.programs.difference(&cost.programs).cloned().collect();
    cost.on_error_cim_queries = err.cim_queries;
    cost.com.extend(err.com);
    cost.powershell_starts.extend(err.powershell_starts);
    cost.runspaces.extend(err.runspaces);
    cost
}

/// One stretch of code: the commands it calls, the programs it starts, the local functions it calls
/// (into `called`).
fn scan(
    toks: &[Tok],
    at: &[usize],
    funcs: &BTreeMap<String, (usize, usize)>,
    base_err: bool,
    costs: &mut [Cost; 2],
    called: &mut Vec<(String, bool)>,
) {
    // Each open `{`: whether it opened a hashtable (`@{`, whose keys are not commands), and whether it
    // opened a catch or trap block.
    let mut braces: Vec<(bool, bool)> = Vec::new();
    let mut catch_next = false;
    for (n, &k) in at.iter().enumerate() {
        let prev = n.checked_sub(1).map(|p| &toks[at[p]]);
        let err = base_err || braces.iter().any(|b| b.1);
        let cost = &mut costs[usize::from(err)];
        match &toks[k] {
            Tok::Punct('{') => {
                braces.push((prev == Some(&Tok::Punct('@')), catch_next));
                catch_next = false;
            }
            Tok::Punct('}') => {
                braces.pop();
            }
            Tok::Punct('&') => {
                // The call operator: what follows is run, a program if it is not a command.
                if let Some(p) = called_program(&at[n + 1..], toks) {
                    note_program(cost, p, "& (the call operator)");
                }
            }
            Tok::Punct('[') => static_call(toks, at, n, cost),
            Tok::Word(w) if w.eq_ignore_ascii_case("catch") || w.eq_ignore_ascii_case("trap") => {
                catch_next = true;
            }
            Tok::Word(w) => {
                let after = |kw: &[&str]| matches!(prev, Some(Tok::Word(p)) if kw.iter().any(|k| p.eq_ignore_ascii_case(k)));
                if after(&["function", "filter"]) {
                    continue;
                }
                let in_hashtable = braces.last().is_some_and(|b| b.0);
                let command_position = match prev {
                    None | Some(Tok::End) | Some(Tok::Punct('{')) => !in_hashtable,
                    Some(Tok::Punct('(' | '|' | '=')) => true,
                    _ => after(&["in", "return"]),
                };
                let lower = w.to_ascii_lowercase();
                if funcs.contains_key(&lower) {
                    if command_position || is_cmdlet_name(w) {
                        called.push((lower, err));
                    }
                    continue;
                }
                let cmdlet = if is_cmdlet_name(w) {
                    canonical(w)
                } else if !command_position {
                    continue;
                } else if let Some(c) = alias(w) {
                    c.to_string()
                } else {
                    let plain = w.starts_with(|c: char| c.is_ascii_alphabetic());
                    if plain && !KEYWORDS.contains(&lower.as_str()) {
                        note_program(cost, program_name(w), "run as a command");
                    }
                    continue;
                };
                command(cost, &cmdlet, &at[n + 1..], toks);
                cost.cmdlets.insert(cmdlet);
            }
            _ => {}
        }
    }
}

/// The arguments of a command: tokens up to the end of its statement or pipeline element.
fn arguments<'t>(rest: &[usize], toks: &'t [Tok]) -> Vec<&'t Tok> {
    let mut depth = 0i32;
    let mut out = Vec::new();
    for &k in rest {
        let t = &toks[k];
        match t {
            Tok::Punct('(' | '{' | '[') => depth += 1,
            Tok::Punct(')' | '}' | ']') => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            Tok::Punct('|') | Tok::End if depth == 0 => break,
            _ => {}
        }
        out.push(t);
    }
    out
}

/// What a command costs beyond its module: the processes `Start-Process`, `Start-Job`, remoting and
/// `Add-Type` start, the COM objects `New-Object` creates, the CIM queries.
fn command(cost: &mut Cost, cmdlet: &str, rest: &[usize], toks: &[Tok]) {
    let args = arguments(rest, toks);
    let has = |p: &str| {
        args.iter()
            .any(|t| matches!(t, Tok::Word(w) if w.eq_ignore_ascii_case(p)))
    };
    let value_of = |p: &str| {
        args.iter()
            .position(|t| matches!(t, Tok::Word(w) if w.eq_ignore_ascii_case(p)))
            .and_then(|i| args.get(i + 1))
    };
    match cmdlet {
        "Start-Process" => {
            // -FilePath, or the first positional argument.
            let target = value_of("-FilePath").or_else(|| {
                args.iter()
                    .find(|t| !matches!(t, Tok::Word(w) if w.starts_with('-')))
            });
            let name = match target {
                Some(Tok::Word(w)) if !w.starts_with('$') => program_name(w),
                Some(Tok::Str(s)) if !s.contains('$') => program_name(s),
                _ => "a program named at run time".to_string(),
            };
            note_program(cost, name, "Start-Process");
        }
        "Start-Job" => cost
            .powershell_starts
            .push("Start-Job (a background job is a new powershell.exe)".into()),
        // Invoke-Command runs in this process unless it is given somewhere else to run.
        "Invoke-Command" | "New-PSSession" | "Enter-PSSession"
            if cmdlet != "Invoke-Command"
                || [
                    "-ComputerName",
                    "-Session",
                    "-VMName",
                    "-ContainerId",
                    "-AsJob",
                ]
                .iter()
                .any(|p| has(p)) =>
        {
            cost.powershell_starts.push(format!(
                "{cmdlet} (remoting: a wsmprovhost.exe PowerShell host)"
            ));
        }
        // Source code is compiled; -AssemblyName only loads what is compiled already.
        "Add-Type"
            if [
                "-MemberDefinition",
                "-TypeDefinition",
                "-Path",
                "-LiteralPath",
            ]
            .iter()
            .any(|p| has(p)) =>
        {
            cost.programs.insert("csc.exe".into());
        }
        "New-Object" => {
            if let Some(Tok::Word(v) | Tok::Str(v)) = value_of("-ComObject") {
                cost.com.insert(v.clone());
            }
        }
        "Get-CimInstance" | "Get-WmiObject" => cost.cim_queries += 1,
        _ => {}
    }
}

/// The program the call operator `&` runs: a word or string, or one inside the parentheses after it.
fn called_program(rest: &[usize], toks: &[Tok]) -> Option<String> {
    match rest.first().map(|&k| &toks[k]) {
        Some(Tok::Word(w)) if w.starts_with('$') => Some(
            if w.to_ascii_lowercase().contains("powershell")
                || w.to_ascii_lowercase().contains("pwsh")
            {
                program_name(w)
            } else {
                "a program named at run time".to_string()
            },
        ),
        Some(Tok::Word(w)) if is_cmdlet_name(w) => None,
        Some(Tok::Word(w) | Tok::Str(w)) => Some(program_name(w)),
        Some(Tok::Punct('(')) => {
            let inner = arguments(&rest[1..], toks);
            inner
                .iter()
                .rev()
                .find_map(|t| match t {
                    Tok::Word(s) | Tok::Str(s)
                        if s.to_ascii_lowercase().ends_with(".exe")
                            || is_powershell(&program_name(s)) =>
                    {
                        Some(program_name(s))
                    }
                    _ => None,
                })
                .or(Some("a program named at run time".to_string()))
        }
        Some(Tok::Punct('{')) | None => None,
        _ => Some("a program named at run time".to_string()),
    }
}

fn note_program(cost: &mut Cost, name: String, how: &str) {
    if is_powershell(&name) {
        cost.powershell_starts.push(format!("{name} ({how})"));
    }
    cost.programs.insert(name);
}

/// `[Type]::Member(`: runspaces (in-process) and the static calls that start a process.
fn static_call(toks: &[Tok], at: &[usize], n: usize, cost: &mut Cost) {
    let get = |d: usize| at.get(n + d).map(|&k| &toks[k]);
    let (Some(Tok::Word(ty)), Some(Tok::Punct(']')), Some(Tok::Word(member))) =
        (get(1), get(2), get(3))
    else {
        return;
    };
    let ty = ty.to_ascii_lowercase();
    let ty = ty
        .trim_start_matches("system.")
        .trim_start_matches("management.automation.");
    let member = member.to_ascii_lowercase();
    match (ty, member.as_str()) {
        ("powershell", "::create") => cost.runspaces.push("[powershell]::Create()".into()),
        (
            "runspaces.runspacefactory" | "runspacefactory",
            "::createrunspace" | "::createrunspacepool",
        ) => cost.runspaces.push(format!("[runspacefactory]{member}()")),
        ("runspaces.runspacefactory" | "runspacefactory", "::createoutofprocessrunspace") => cost
            .powershell_starts
            .push("[runspacefactory]::CreateOutOfProcessRunspace (a new powershell.exe)".into()),
        ("diagnostics.process", "::start") => {
            let name = match get(5) {
                Some(Tok::Str(s)) | Some(Tok::Word(s)) if !s.starts_with('$') => program_name(s),
                _ => "a program named at run time".into(),
            };
            note_program(cost, name, "[Diagnostics.Process]::Start");
        }
        _ => {}
    }
}

/// The batch template as the engine renders it, close enough to count: its handlebars tags become `$null`.
pub fn strip_handlebars(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => {
                let tag = &rest[start + 2..start + end];
                if !tag.starts_with(['#', '/']) {
                    out.push_str("$null");
                }
                rest = &rest[start + end + 2..];
            }
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// PowerShell processes per check run: the batch itself, plus every place the batch or a check
/// would start another one.
pub fn powershell_processes(batch: &Cost, checks: &[(String, Cost)]) -> usize {
    1 + batch.powershell_starts.len()
        + checks
            .iter()
            .map(|(_, c)| c.powershell_starts.len())
            .sum::<usize>()
}

/// Places in handover's own Rust (`src/`) that start powershell.exe, one `(path, enclosing function)` per
/// place. A function named `…_fallback` runs only when the in-process way failed (the section counts it
/// apart); `local_windows.rs` is the script runner (the batch).
pub fn rust_powershell_sites(root: &Path) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut dirs = vec![root.join("src")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let p = e?.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p)?;
                let rel = p.strip_prefix(root).unwrap_or(&p);
                let rel = rel.display().to_string().replace('\\', "/");
                for (at, _) in text.match_indices("program(\"powershell\")") {
                    out.push((rel.clone(), enclosing_fn(&text[..at])));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The name of the last `fn` declared in `before` (the function a place in the code is in).
fn enclosing_fn(before: &str) -> String {
    before
        .lines()
        .rev()
        .find_map(|l| {
            let l = l.trim_start();
            let l = ["pub(crate) ", "pub(super) ", "pub "]
                .iter()
                .find_map(|v| l.strip_prefix(v))
                .unwrap_or(l);
            let name = l.strip_prefix("fn ")?;
            name.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .map(str::to_string)
        })
        .unwrap_or_default()
}

/// The site the Windows profile is rendered with (every key its checks need, hostile nowhere).
pub const SITE: &str = r#"
[accounts]
admin_name = "uni-adm0"
guest_name = "uni-gst0"
allowed = ["svc-backup"]
[firewall]
allow = [ { port = 3389, proto = "tcp", from = "10.0.0.0/8" } ]
[vpn]
name = "Uni VPN"
gateway = "vpn.example.ac.uk"
port = 443
trusted_cert = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
[lansweeper]
server = "lansweeper.example.ac.uk"
agent_key = "RELAY-KEY-s3cr3t-0001"
[artifacts.office-odt]
url = "setup.exe"
sha256 = "0000000000000000000000000000000000000000000000000000000000000001"
[artifacts.teams-bootstrapper]
url = "teamsbootstrapper.exe"
sha256 = "0000000000000000000000000000000000000000000000000000000000000002"
[artifacts.teams-msix]
url = "MSTeams-x64.msix"
sha256 = "0000000000000000000000000000000000000000000000000000000000000003"
[artifacts.lsagent-windows]
url = "LsAgent-windows.exe"
sha256 = "0000000000000000000000000000000000000000000000000000000000000004"
[artifacts.forticlient-vpn-msi]
url = "FortiClientVPN.msi"
sha256 = "0000000000000000000000000000000000000000000000000000000000000005"
"#;

/// The profile the section is about.
pub const PROFILE: &str = "windows-11";

/// `cargo xtask bench --windows-only`: print the section.
pub fn main(root: &Path) -> Result<()> {
    print!("{}", section(root)?);
    Ok(())
}

/// The markdown section for BENCHMARKS.md: renders the Windows 11 profile with `cargo run -p handover
/// -- render` (the scripts the device would run) and counts what they cost.
pub fn section(root: &Path) -> Result<String> {
    let dir = std::env::temp_dir().join(format!("handover-bench-windows-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let result = render_and_count(root, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn render_and_count(root: &Path, dir: &Path) -> Result<String> {
    let site = dir.join("site.toml");
    std::fs::write(&site, SITE)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&site, std::fs::Permissions::from_mode(0o600))?;
    }
    let out = dir.join("out");
    let status =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root)
            .args([
                "run",
                "--quiet",
                "-p",
                "handover",
                "--",
                "render",
                "--profile",
                PROFILE,
                "--site",
            ])
            .arg(&site)
            .arg("--out")
            .arg(&out)
            .env("HANDOVER_STATE_DIR", dir.join("state"))
            .stdout(std::process::Stdio::null())
            .status()
            .context("running cargo run -p handover -- render")?;
    if !status.success() {
        bail!("handover render --profile {PROFILE} failed: {status}");
    }
    let mut checks = Vec::new();
    for e in std::fs::read_dir(&out)? {
        let p = e?.path();
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if let Some(id) = name.strip_suffix(".check.ps1") {
            checks.push((id.to_string(), std::fs::read_to_string(&p)?));
        }
    }
    checks.sort();
    let batch = std::fs::read_to_string(root.join("templates/windows/_batch.ps1"))?;
    Ok(build_section(
        &batch,
        &checks,
        &rust_powershell_sites(root)?,
    ))
}

/// The section from the batch template, each check's rendered script (by control id) and the Rust
/// places that start PowerShell.
pub fn build_section(
    batch_template: &str,
    checks: &[(String, String)],
    rust_sites: &[(String, String)],
) -> String {
    let batch = analyse(&strip_handlebars(batch_template));
    let costs: Vec<(String, Cost)> = checks
        .iter()
        .map(|(id, text)| (id.clone(), analyse(text)))
        .collect();
    let processes = powershell_processes(&batch, &costs);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Windows (not measured here: expected costs from Microsoft's documentation)\n"
    );
    let _ = writeln!(
        s,
        "No Windows device runs handover here: nothing below is a measurement. The counts are made by \
         `cargo xtask bench --windows-only` (xtask/src/bench_windows.rs) from the rendered `{PROFILE}` \
         scripts; `tests/windows_cost.rs` proves the same counts against the engine. Every cost is \
         Microsoft's figure with its page, or \"no documented figure\" where Microsoft gives none.\n"
    );
    let _ = writeln!(
        s,
        "**PowerShell processes per `check` run (not measured here):**\n"
    );
    let _ = writeln!(
        s,
        "- for the checks: **{processes}**: the one batch process (`templates/windows/_batch.ps1`), \
         plus {} started by the batch and {} by the {} check scripts;",
        batch.powershell_starts.len(),
        processes - 1 - batch.powershell_starts.len(),
        costs.len()
    );
    let _ = writeln!(
        s,
        "- runspaces (threads of that process, not processes): one per check, {} created at {} place(s) \
         of the batch ({}), at most 5 at once; each loads its own modules;",
        costs.len(),
        batch.runspaces.len(),
        batch.runspaces.join(", ")
    );
    let sites: Vec<String> = rust_sites
        .iter()
        .map(|(p, f)| format!("`{p}` (`{f}`)"))
        .collect();
    let runner = |p: &str| p.ends_with("local_windows.rs");
    let fallbacks = rust_sites
        .iter()
        .filter(|(p, f)| !runner(p) && f.ends_with("_fallback"))
        .count();
    let always = rust_sites
        .iter()
        .filter(|(p, f)| !runner(p) && !f.ends_with("_fallback"))
        .count();
    let _ = writeln!(
        s,
        "- handover's own Rust starts powershell.exe at: {}; besides the script runner, {always} more \
         on every run and {fallbacks} only as a fallback (the device facts' serial and model come from the \
         firmware's SMBIOS table, read in-process by GetSystemFirmwareTable; CIM in a PowerShell only when \
         that table cannot be read): **{} PowerShell process(es) per `check` run; {fallbacks} more only \
         when the firmware table cannot be read**;",
        sites.join(", "),
        processes + always
    );
    let _ = writeln!(
        s,
        "- a no-change `apply` starts the same; each change adds its apply script and its re-check (2 \
         more), and after any change one more batch re-checks the check-only controls that failed.\n"
    );
    let _ = writeln!(
        s,
        "Expected cost of one PowerShell start: {} ([source]({})).\n",
        POWERSHELL_START.figure.unwrap_or("no documented figure"),
        POWERSHELL_START.source
    );
    per_check(&mut s, &costs);
    s
}

/// The table of each check's costs, then what Microsoft documents about each module and program in it.
fn per_check(s: &mut String, costs: &[(String, Cost)]) {
    let _ = writeln!(s, "**Per check (not measured here):**\n");
    let _ = writeln!(
        s,
        "\"Can\": the check's statements and the functions they call, every branch counted (device.lock \
         asks Group Policy's CIM classes only when the limit is wrong); what only a `catch` block reaches \
         is listed apart. Each check runs in a fresh runspace, so a module two checks use is loaded twice.\n"
    );
    let _ = writeln!(
        s,
        "| check | modules its code can load beyond the built-in commands (in its own runspace) | external programs it can start | COM objects | CIM/WMI queries (places in its code) | PowerShell starts | expected cost |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    let mut modules_seen = BTreeSet::new();
    let mut programs_seen = BTreeSet::new();
    let com_seen: BTreeSet<String> = costs.iter().flat_map(|(_, c)| c.com.clone()).collect();
    let list = |set: &BTreeSet<String>, on_error: &BTreeSet<String>| {
        let mut out = if set.is_empty() {
            "none".to_string()
        } else {
            set.iter().cloned().collect::<Vec<_>>().join(", ")
        };
        if !on_error.is_empty() {
            let e: Vec<String> = on_error.iter().cloned().collect();
            let _ = write!(out, " (only when something failed: {})", e.join(", "));
        }
        out
    };
    for (id, c) in costs {
        let loaded = c.loaded_modules();
        let on_error = c.on_error_modules();
        modules_seen.extend(loaded.iter().chain(&on_error).cloned());
        programs_seen.extend(c.programs.iter().chain(&c.on_error_programs).cloned());
        let expected = if c.powershell_starts.is_empty() {
            let parts: Vec<String> = [
                (loaded.len(), "module load"),
                (c.programs.len(), "program start"),
                (c.com.len(), "COM object"),
            ]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}{}", if *n == 1 { "" } else { "s" }))
            .collect();
            if parts.is_empty() {
                "its runspace and built-in commands only: no documented figure".to_string()
            } else {
                format!("{}: no documented figure", parts.join(", "))
            }
        } else {
            format!(
                "{} PowerShell start(s) of {}",
                c.powershell_starts.len(),
                POWERSHELL_START
                    .figure
                    .map_or("no documented figure", |_| "about 250 ms each")
            )
        };
        let cim = match c.on_error_cim_queries {
            0 => c.cim_queries.to_string(),
            e => format!("{} (+{e} when something failed)", c.cim_queries),
        };
        let _ = writeln!(
            s,
            "| {id} | {} | {} | {} | {cim} | {} | {expected} |",
            list(&loaded, &on_error),
            list(&c.programs, &c.on_error_programs),
            list(&c.com, &BTreeSet::new()),
            c.powershell_starts.len()
        );
    }
    let unknown: BTreeSet<String> = costs
        .iter()
        .flat_map(|(_, c)| c.unknown_cmdlets())
        .collect();
    if !unknown.is_empty() {
        let _ = writeln!(
            s,
            "\nCmdlets in no module of xtask/src/bench_windows.rs's table (their module is not counted): {}",
            unknown.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    let _ = writeln!(
        s,
        "\n**What Microsoft documents about each (not measured here):**\n"
    );
    let _ = writeln!(s, "| what | expected cost | source |");
    let _ = writeln!(s, "|---|---|---|");
    let row = |s: &mut String, name: &str, d: &Documented| {
        let _ = writeln!(
            s,
            "| {name}: {} | {} | {} |",
            d.what,
            d.figure.unwrap_or("no documented figure"),
            d.source
        );
    };
    row(s, "powershell.exe", &POWERSHELL_START);
    row(s, "runspace", &RUNSPACE);
    row(s, "built-in commands", &BUILT_IN_COMMANDS);
    for m in &modules_seen {
        row(s, m, &module_cost(m));
    }
    for p in &programs_seen {
        row(s, p, &program_cost(p));
    }
    for c in &com_seen {
        row(s, c, &com_cost(c));
    }
}

/// What using each COM object costs.
pub fn com_cost(name: &str) -> Documented {
    let (what, source) = match name {
        "Microsoft.Update.Session" => (
            "the Windows Update Agent: IUpdateSearcher::Search looks for updates, which can ask the update service over the network",
            "https://learn.microsoft.com/windows/win32/api/wuapi/nf-wuapi-iupdatesearcher-search",
        ),
        _ => ("a COM object", "https://learn.microsoft.com/windows/win32/com/component-object-model--com--portal"),
    };
    Documented {
        what,
        figure: None,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_maps_cmdlets_to_modules_and_finds_programs_through_its_functions() {
        let lib = "function Get-Policy {\n    $null = & secedit.exe /export /cfg $f\n    Get-Content -LiteralPath $f\n}\n\
                   function Unused { Get-BitLockerVolume -MountPoint C: }\n";
        let c = analyse(&format!(
            "{lib}# Get-AppxProvisionedPackage in a comment\n$s = Get-MpComputerStatus\n$p = Get-Policy\n\
             Write-Output \"$(Split-Path -Leaf $x) Get-LocalUser in a string\"\n"
        ));
        assert_eq!(
            c.loaded_modules().into_iter().collect::<Vec<_>>(),
            ["Defender"]
        );
        assert!(
            c.modules().contains("Microsoft.PowerShell.Management"),
            "{c:?}"
        );
        assert_eq!(c.programs.iter().collect::<Vec<_>>(), ["secedit.exe"]);
        assert!(c.powershell_starts.is_empty());
        assert!(c.unknown_cmdlets().is_empty(), "{:?}", c.unknown_cmdlets());
        // What only a catch block reaches is counted apart: it costs nothing while nothing fails.
        let c = analyse(
            "function Probe { Get-CimInstance -ClassName Win32_Process }\n\
             try { $s = Get-MpComputerStatus } catch {\n    $x = Probe\n    & dsregcmd.exe /status\n}\n",
        );
        assert_eq!((c.cim_queries, c.on_error_cim_queries), (0, 1));
        assert_eq!(
            c.on_error_modules().into_iter().collect::<Vec<_>>(),
            ["CimCmdlets"]
        );
        assert_eq!(
            c.on_error_programs.iter().collect::<Vec<_>>(),
            ["dsregcmd.exe"]
        );
        assert!(c.programs.is_empty() && c.loaded_modules().contains("Defender"));
    }

    #[test]
    fn every_way_of_starting_powershell_is_found_and_a_runspace_is_not_one() {
        for start in [
            "Start-Process powershell -ArgumentList '-File x.ps1'",
            "Start-Process -FilePath 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe' -Wait",
            "start pwsh",
            "powershell.exe -NoProfile -Command 'Get-Date'",
            "$o = & pwsh -c 1",
            "& \"$PSHOME\\powershell.exe\" -Command x",
            "& $PSHOME\\powershell.exe -Command x",
            "& (Join-Path $PSHOME 'powershell.exe') -Command x",
            "$j = Start-Job -ScriptBlock { 1 }",
            "Invoke-Command -ComputerName localhost -ScriptBlock { 1 }",
            "$r = [runspacefactory]::CreateOutOfProcessRunspace($null)",
            "[Diagnostics.Process]::Start('powershell.exe', '-c 1')",
            "if ($x) { $y = \"$(powershell -c 1)\" }",
        ] {
            let c = analyse(&format!("$a = 1\n{start}\n"));
            assert_eq!(c.powershell_starts.len(), 1, "{start}: {c:?}");
        }
        for not_a_start in [
            "$ps = [powershell]::Create()",
            "$pool = [runspacefactory]::CreateRunspacePool(1, 5)",
            "Invoke-Command -ScriptBlock { 1 }",
            "Write-Output 'Windows PowerShell runs in Constrained Language Mode'",
            "$why = \"Windows PowerShell runs in $mode\"",
            "$ini = Join-Path ${env:ProgramFiles(x86)} 'powershell.exe'",
            "# Start-Process powershell",
            "$h = @{ powershell = 1; pwsh = 2 }",
        ] {
            let c = analyse(&format!("{not_a_start}\n"));
            assert!(c.powershell_starts.is_empty(), "{not_a_start}: {c:?}");
        }
        assert_eq!(analyse("$ps = [powershell]::Create()\n").runspaces.len(), 1);
    }

    #[test]
    fn a_powershell_place_is_named_by_its_function() {
        let text = "/// fn not_me\npub(crate) fn run(x: u8) {\n    let _ = 1;\n    HERE\n}\n";
        assert_eq!(enclosing_fn(&text[..text.find("HERE").unwrap()]), "run");
        let text = "fn a() {}\n    fn windows_hardware_fallback() -> (String, String) {\n HERE";
        assert_eq!(
            enclosing_fn(&text[..text.find("HERE").unwrap()]),
            "windows_hardware_fallback"
        );
        assert_eq!(enclosing_fn("no function"), "");
    }

    #[test]
    fn the_section_counts_processes_names_modules_and_says_not_measured() {
        let batch =
            "$ids = @({{#each checks}}{{id}}, {{/each}}$null)\n$ps = [powershell]::Create()\n";
        let checks = vec![
            (
                "endpoint.protection".to_string(),
                "$s = Get-MpComputerStatus\nAdd-Type -Namespace H -Name L -MemberDefinition 'x'\n"
                    .to_string(),
            ),
            (
                "firewall.enabled".to_string(),
                "Get-NetFirewallProfile -PolicyStore ActiveStore\n".to_string(),
            ),
        ];
        let sites = vec![
            (
                "src/host/facts.rs".to_string(),
                "windows_hardware_fallback".to_string(),
            ),
            ("src/host/local_windows.rs".to_string(), "run".to_string()),
        ];
        let s = build_section(batch, &checks, &sites);
        assert!(s.starts_with("## Windows (not measured here"), "{s}");
        assert!(s.contains("for the checks: **1**"), "{s}");
        assert!(
            s.contains(
                "**1 PowerShell process(es) per `check` run; 1 more only when the firmware table \
                 cannot be read**"
            ),
            "{s}"
        );
        // A place that starts PowerShell on every run, not as a fallback, counts in the per-run figure.
        let mut always = sites.clone();
        always.push(("src/host/facts.rs".into(), "detect".into()));
        let s2 = build_section(batch, &checks, &always);
        assert!(
            s2.contains("**2 PowerShell process(es) per `check` run; 1 more only"),
            "{s2}"
        );
        assert!(
            s.contains("| endpoint.protection | Defender | csc.exe |"),
            "{s}"
        );
        assert!(
            s.contains("| firewall.enabled | NetSecurity | none |"),
            "{s}"
        );
        assert!(s.contains(WMF51) && s.contains("about 250 ms"), "{s}");
        assert!(
            s.contains("| Defender: ") && s.contains("no documented figure"),
            "{s}"
        );
        // A check that starts PowerShell shows in the count.
        let mut worse = checks.clone();
        worse.push(("x".into(), "Start-Process powershell -Wait\n".into()));
        let s = build_section(batch, &worse, &sites);
        assert!(s.contains("for the checks: **2**"), "{s}");
    }
}
