/*
 * China Chopper and its one-line relatives: a request value handed to an evaluator.
 * Written for exhunt from the published descriptions of the family (FireEye 2013 "Breaking
 * Down the China Chopper Web Shell", CISA AR21-072A..AR21-102A for the March 2021 Exchange
 * campaign, Microsoft's HAFNIUM write-up). No third-party rule or sample text is reused.
 */

rule exhunt_chopper_jscript_eval : executes_request_input
{
    meta:
        id = "exhunt.yara.chopper-jscript-eval"
        title = "China Chopper: JScript eval of a request value"
        description = "An ASP.NET page in JScript passes a request parameter to eval with the 'unsafe' option: the China Chopper server side, as dropped on Exchange servers in 2021 (also used by AntSword's default aspx shell)."
        family = "China Chopper"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003"
        reference = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa21-062a"
        reference = "https://www.mandiant.com/resources/blog/breaking-down-the-china-chopper-web-shell-part-i"
    strings:
        $eval_item = /\beval\s*\(\s*Request\s*(\.\s*(Item|Form|QueryString|Params)\s*)?[\[\(][^\]\)]{1,64}[\]\)][^;]{0,40}unsafe/ nocase
        $eval_bare = /\beval\s*\(\s*Request\s*\.\s*(Item|Form|QueryString|Params)\s*[\[\(]/ nocase
    condition:
        filesize < 2MB and any of them
}

rule exhunt_chopper_jscript_evaluate : executes_request_input
{
    meta:
        id = "exhunt.yara.chopper-jscript-evaluate"
        title = "China Chopper (C#): JScript evaluator fed by a request value"
        description = "C# or VB code calls Microsoft.JScript's evaluator on request input: the C# form of the China Chopper one-liner and of AntSword's ashx/asmx shells."
        family = "China Chopper"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003"
        reference = "https://learn.microsoft.com/dotnet/api/microsoft.jscript.eval.jscriptevaluate"
    strings:
        $evaluate = "JScriptEvaluate" nocase
        $request = /Request\s*(\.\s*(Item|Form|QueryString|Params|Headers|Cookies)\s*)?[\[\(]/ nocase
    condition:
        filesize < 2MB and $evaluate and $request
}

rule exhunt_asp_execute_request : executes_request_input
{
    meta:
        id = "exhunt.yara.asp-execute-request"
        title = "Classic ASP / VBScript one-liner: Execute or Eval of a request value"
        description = "VBScript's Execute, ExecuteGlobal or Eval runs a request parameter: the classic ASP form of the China Chopper one-liner."
        family = "China Chopper"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003"
        reference = "https://www.mandiant.com/resources/blog/breaking-down-the-china-chopper-web-shell-part-i"
    strings:
        $exec = /(^|[^\.\w])(execute(global)?|eval)[ \t]*\(?[ \t]*request[ \t]*(\.[ \t]*(item|form|querystring)[ \t]*)?\(/ nocase
    condition:
        filesize < 2MB and $exec
}

rule exhunt_chopper_oab_dump : executes_request_input
{
    meta:
        id = "exhunt.yara.chopper-oab-dump"
        title = "China Chopper in an OAB virtual directory dump (CVE-2021-27065)"
        description = "The ProxyLogon chain sets the OAB virtual directory's ExternalUrl to a script block that evaluates a request value, then resets the directory so that Exchange writes its configuration, script included, to a file of the attacker's choosing."
        family = "China Chopper (HAFNIUM)"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003"
        cve = "CVE-2021-27065"
        reference = "https://www.microsoft.com/security/blog/2021/03/02/hafnium-targeting-exchange-servers/"
        reference = "https://www.volexity.com/blog/2021/03/02/active-exploitation-of-microsoft-exchange-zero-day-vulnerabilities/"
    strings:
        $url1 = "ExternalUrl" nocase
        $url2 = "InternalUrl" nocase
        $oab1 = "OAB (Default Web Site)" nocase
        $oab2 = "OfflineAddressBook" nocase
        $oab3 = "PollInterval" nocase
        $oab4 = "msExchOAB" nocase
        $script = /<script[^>]{0,100}runat\s*=\s*["']?server[^>]{0,100}>[^<]{0,400}(eval|execute|Assembly\.Load|Process\.Start)\s*\(/ nocase
    condition:
        filesize < 1MB and $script and any of ($url*) and any of ($oab*)
}
