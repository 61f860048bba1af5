/*
 * Test-only stand-in for Windows' bcryptprimitives.dll, used by `cargo xtask windows` to run
 * handover.exe under Wine. It is never shipped and never copied into the repository or a release:
 * the xtask builds it into a scratch directory under target/ next to the .exe.
 *
 * Why it exists: Rust's standard library (since 1.78) gets its random bytes (HashMap keys) from
 * ProcessPrng in bcryptprimitives.dll, which every supported Windows (10 and later) has. Wine 8,
 * the version Debian 12 ships, has no bcryptprimitives.dll, so without this file the .exe does not
 * even load under Wine ("module not found"). Wine loads a DLL from the application's directory
 * before its own, so putting this one beside the .exe is enough.
 *
 * ProcessPrng is implemented on top of advapi32's SystemFunction036 (RtlGenRandom), which Wine
 * has. Like the real one it always returns TRUE (Microsoft documents that it never fails).
 */
#include <windows.h>

/* RtlGenRandom's real name; declared here since <ntsecapi.h> only defines it as a macro. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    /* SystemFunction036 takes a ULONG length: fill larger requests in chunks. */
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk)) {
            /* Unreachable in practice; the caller (Rust's std) treats FALSE as fatal. */
            return FALSE;
        }
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return TRUE;
}
