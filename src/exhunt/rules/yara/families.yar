/*
 * ASP.NET web shell families seen on Exchange and IIS servers, described from public
 * analyses of each tool (project documentation and vendor write-ups named in each rule).
 * Written for exhunt; no third-party rule or sample text is reused.
 */

rule exhunt_aspxspy
{
    meta:
        id = "exhunt.yara.aspxspy"
        title = "ASPXSpy web shell"
        description = "ASPXSpy, a full-featured ASP.NET file manager and command shell (file browser, cmd.exe runner, registry and port scanner pages) named in Microsoft's and FireEye's reports on Exchange intrusions. Its control names share the Bin_ prefix."
        family = "ASPXSpy"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003"
        reference = "https://www.microsoft.com/security/blog/2021/03/02/hafnium-targeting-exchange-servers/"
    strings:
        $name = "ASPXSpy" nocase
        $bin1 = /\bBin_(Button|List|Data|Attr|Files|Tr|Td|Menu|Nav|Span)[A-Za-z_]{0,30}/
        $cmd = "cmd.exe" nocase
        $proc = "ProcessStartInfo" nocase
        $reg = "RegistryKey" nocase
        $dir = "DirectoryInfo" nocase
    condition:
        filesize < 4MB and (
            ($name and ($cmd or $proc or $dir)) or
            (#bin1 > 5 and 2 of ($cmd, $proc, $reg, $dir))
        )
}

rule exhunt_regeorg_tunnel
{
    meta:
        id = "exhunt.yara.regeorg-tunnel"
        title = "reGeorg SOCKS tunnel (ASP.NET)"
        description = "reGeorg's tunnel page: a command header (CONNECT, READ, FORWARD, DISCONNECT) drives a socket kept in the session, turning the web server into a SOCKS proxy into the network."
        family = "reGeorg"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003, T1090.001"
        reference = "https://github.com/sensepost/reGeorg"
    strings:
        $hdr = "X-CMD" nocase
        $st = "X-STATUS" nocase
        $c1 = "CONNECT"
        $c2 = "DISCONNECT"
        $c3 = "FORWARD"
        $sock = "Socket" nocase
    condition:
        filesize < 1MB and $hdr and $sock and 2 of ($c*) and ($st or $c3)
}

rule exhunt_neoregeorg_tunnel
{
    meta:
        id = "exhunt.yara.neoregeorg-tunnel"
        title = "Neo-reGeorg or Volexity's reGeorg variant: socket tunnel with translated base64"
        description = "Neo-reGeorg and the reGeorg variant Volexity found on Exchange in 2021 decode request headers with a private base64 alphabet (a character translation before FromBase64String) and relay them over a socket kept in the session."
        family = "Neo-reGeorg"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003, T1090.001"
        reference = "https://github.com/L-codes/Neo-reGeorg"
        reference = "https://www.volexity.com/blog/2021/03/02/active-exploitation-of-microsoft-exchange-zero-day-vulnerabilities/"
    strings:
        $sockets = "System.Net.Sockets" nocase
        $socket = /new\s+(System\.Net\.Sockets\.)?Socket\s*\(/ nocase
        $b64 = /FromBase64String\s*\(\s*\w{1,20}\s*\(\s*(HttpContext\.Current\.)?Request\.Headers/ nocase
        $hdrget = /Request\.Headers(\.Get\s*\(|\s*\[)/ nocase
        $split = ".Split('|')"
        $ip = "IPAddress" nocase
        $session = /Session\s*\[\s*["'][^"']{1,40}["']\s*\]\s*=\s*\w+/
    condition:
        filesize < 1MB and ($sockets or $socket) and (
            $b64 or
            ($hdrget and $split and $socket and $ip) or
            ($hdrget and $socket and $session and $ip and #hdrget > 2)
        )
}

rule exhunt_godzilla_aspx
{
    meta:
        id = "exhunt.yara.godzilla"
        title = "Godzilla web shell (ASP.NET)"
        description = "Godzilla's ASP.NET shell: the request body is AES-decrypted, loaded as an assembly once and kept in the session, then an instance of its payload class is given the context on every request."
        family = "Godzilla"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003, T1620"
        reference = "https://github.com/BeichenDream/Godzilla"
        reference = "https://unit42.paloaltonetworks.com/manageengine-godzilla-nglite-kdcsponge/"
    strings:
        $load = /GetMethod\s*\(\s*"Load"/ nocase
        $asm = "Assembly" nocase
        $payload = /Session\s*\[\s*"payload"\s*\]/ nocase
        $inst = /CreateInstance\s*\(\s*"LY"\s*\)/
        $aes = /(RijndaelManaged|Aes\.Create|AesManaged)/ nocase
        $md5 = "MD5" nocase
        $equals = /\.Equals\s*\(\s*(Context|HttpContext\.Current|data)\s*\)/
    condition:
        filesize < 1MB and $asm and (
            $inst or
            ($payload and ($load or $equals) and $aes) or
            ($load and $aes and $md5 and #equals > 1)
        )
}

rule exhunt_behinder_aspx
{
    meta:
        id = "exhunt.yara.behinder"
        title = "Behinder (Ice Scorpion) web shell (ASP.NET)"
        description = "Behinder's ASP.NET shell: the whole request body is read, AES-decrypted with a key kept in the session and loaded as an assembly whose class is instantiated with the page."
        family = "Behinder"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003, T1620"
        reference = "https://github.com/rebeyond/Behinder"
    strings:
        $read = /Request\.BinaryRead\s*\(\s*Request\.ContentLength\s*\)/ nocase
        $load = /Assembly\.Load\s*\(/ nocase
        $dec = "CreateDecryptor" nocase
        $inst = /CreateInstance\s*\(\s*"\w{1,3}"\s*\)\s*\.Equals\s*\(\s*this\s*\)/
        $sess = /Session\.Add\s*\(\s*"k"/
    condition:
        filesize < 1MB and $load and ($inst or ($read and $dec) or ($sess and $dec))
}

rule exhunt_antsword_handler
{
    meta:
        id = "exhunt.yara.antsword-handler"
        title = "AntSword ashx/asmx shell: a web handler that evaluates or loads request input"
        description = "AntSword ships ashx and asmx server sides besides its aspx one-liner: an IHttpHandler or a web service method that hands a request value (or its base64 bytes) to an evaluator or assembly loader."
        family = "AntSword"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003"
        reference = "https://github.com/AntSwordProject/AntSword-Labs"
    strings:
        $handler = /<%@\s*(WebHandler|WebService)/ nocase
        $ihttp = "IHttpHandler" nocase
        $webmethod = "[WebMethod" nocase
        $sink1 = "JScriptEvaluate" nocase
        $sink2 = /Assembly\.Load\s*\(\s*(System\.)?Convert\.FromBase64String\s*\(/ nocase
        $sink3 = /\beval\s*\(/
        $input = /(context\.)?Request\s*(\.\s*(Item|Form|QueryString|Params)\s*)?\[/ nocase
        $ant = "antsword" nocase
    condition:
        filesize < 1MB and $handler and ($ihttp or $webmethod) and
        (($input and any of ($sink*)) or ($ant and any of ($sink*)))
}

rule exhunt_sharpyshell
{
    meta:
        id = "exhunt.yara.sharpyshell"
        title = "SharPyShell web shell (ASP.NET)"
        description = "SharPyShell's stager: a base64 request value is XOR- or AES-decrypted and loaded as an assembly whose runtime method runs the operator's module."
        family = "SharPyShell"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003, T1620"
        reference = "https://github.com/antonioCoco/SharPyShell"
    strings:
        $exec = "ExecRuntime"
        $load = /Assembly\.Load\s*\(/ nocase
        $b64 = /Convert\.FromBase64String\s*\(\s*Request/ nocase
        $xor = /\^\s*\w{1,20}\s*\[\s*\w{1,10}\s*%\s*\w{1,20}\.Length\s*\]/
        $invoke = /GetMethod\s*\(\s*"\w+"\s*\)\s*\.Invoke/
    condition:
        filesize < 1MB and $load and ($exec or ($b64 and $xor and $invoke))
}
