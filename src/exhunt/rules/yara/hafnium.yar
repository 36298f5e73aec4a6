/*
 * File traits of the 2021 Exchange campaign published by Microsoft, Volexity and CISA, and
 * places where a script does not belong. Written for exhunt from the published descriptions.
 */

rule exhunt_hafnium_secchecker
{
    meta:
        id = "exhunt.yara.hafnium-secchecker"
        title = "HAFNIUM SecChecker web shell: looks for the responders' security agents"
        description = "Microsoft's HAFNIUM report lists a web shell that checks for the FireEye agent (xagt.exe) and the CrowdStrike sensor (csfalconservice.exe) before acting (Defender: Backdoor:ASP/SecChecker.A)."
        family = "HAFNIUM SecChecker"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003, T1518.001"
        reference = "https://www.microsoft.com/security/blog/2021/03/02/hafnium-targeting-exchange-servers/"
    strings:
        $fe = "xagt.exe" nocase
        $cs = "csfalconservice.exe" nocase
        $server = /(<%|runat\s*=\s*["']?server)/ nocase
    condition:
        filesize < 1MB and $server and $fe and $cs
}

rule exhunt_hafnium_cookie_shell
{
    meta:
        id = "exhunt.yara.hafnium-cookie-shell"
        title = "SPORTSBALL-style shell: request form values smuggled through a cookie"
        description = "Volexity's SPORTSBALL (a HyperShell variant found on Exchange in 2021) builds a cookie from a request form value and runs what it carries."
        family = "SPORTSBALL"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003"
        reference = "https://www.volexity.com/blog/2021/03/02/active-exploitation-of-microsoft-exchange-zero-day-vulnerabilities/"
    strings:
        $cookie = /new\s+HttpCookie\s*\(\s*"\w{1,20}"\s*,\s*(HttpContext\.Current\.)?Request\.Form/ nocase
        $sink = /(Assembly\.Load|Process\.Start|\beval\s*\(|Invoke\s*\(|FromBase64String)/ nocase
    condition:
        filesize < 1MB and $cookie and $sink
}

rule exhunt_script_in_config_dump
{
    meta:
        id = "exhunt.yara.script-in-config-dump"
        title = "Server-side script block inside a configuration dump"
        description = "A virtual directory's settings written out as a file (what Exchange writes when an attacker resets the OAB or another virtual directory to a path of their choosing) with a server-side script block in a URL field: the CVE-2021-27065 and ProxyShell technique, whatever the script does."
        family = "heuristic (CVE-2021-27065)"
        severity = "high"
        category = "webshell"
        attack = "T1505.003"
        cve = "CVE-2021-27065"
        reference = "https://www.microsoft.com/security/blog/2021/03/02/hafnium-targeting-exchange-servers/"
    strings:
        $f1 = "ExternalUrl" nocase
        $f2 = "InternalUrl" nocase
        $f3 = "ExternalAuthenticationMethods" nocase
        $f4 = "InternalAuthenticationMethods" nocase
        $f5 = "RequireSSL" nocase
        $f6 = "BasicAuthentication" nocase
        $f7 = "WindowsAuthentication" nocase
        $f8 = "DistinguishedName" nocase
        $f9 = "AdminDisplayVersion" nocase
        $script = /<script[^>]{0,100}runat\s*=\s*["']?server/ nocase
        $inline = /https?:\/\/[^\s"'<>]{0,80}<%/ nocase
    condition:
        filesize < 1MB and ($script or $inline) and 3 of ($f*)
}

rule exhunt_script_behind_image_header
{
    meta:
        id = "exhunt.yara.script-behind-image-header"
        title = "Server-side script behind an image header"
        description = "The file starts like an image (GIF, PNG, JPEG, BMP) but holds an ASP.NET directive or server script block: a web shell disguised to pass upload checks, run when IIS serves it as a script or when another page includes it."
        family = "heuristic"
        severity = "high"
        category = "webshell"
        attack = "T1505.003, T1036.008"
    strings:
        $directive = /<%@\s*(Page|WebHandler|WebService|Assembly|Import)\b/ nocase
        $script = /<script[^>]{0,100}runat\s*=\s*["']?server/ nocase
        $inline = /<%\s*(eval|execute|Response\.Write|Request)\b/ nocase
    condition:
        filesize < 8MB and
        ((uint32be(0) | 0x20202000) == 0x67696638 or uint32be(0) == 0x89504E47 or uint16be(0) == 0xFFD8 or uint16be(0) == 0x424D) and
        any of them
}

rule exhunt_script_unusual_extension
{
    meta:
        id = "exhunt.yara.script-unusual-extension"
        title = "ASP.NET page under an extension that is not a script's"
        description = "The file begins with an ASP.NET page, handler or service directive but is named as something else (.jpg, .txt, .log...): it runs only where IIS is configured to run that extension as a script, or when it is renamed later. Both are attacker habits."
        family = "heuristic"
        severity = "medium"
        category = "webshell"
        attack = "T1505.003, T1036.008"
    strings:
        $directive = /^\s{0,16}(\xef\xbb\xbf)?<%@\s*(Page|WebHandler|WebService)\b/ nocase
    condition:
        filesize < 4MB and $directive and extension != "" and
        not (extension matches /^\.(aspx|ashx|asmx|asax|ascx|asp|asa|cer|cdx|master|cshtml|vbhtml|config|cs|vb|svc|inc|bak|old|orig)$/i)
}
