/*
 * What every ASP/ASP.NET web shell has to do, whatever its family: take input from the request
 * and hand it to something that runs it. Written for exhunt.
 */

rule exhunt_cmd_shell_request : executes_request_input
{
    meta:
        id = "exhunt.yara.cmd-shell-request"
        title = "Command shell: a process started with request input"
        description = "A page starts cmd.exe, PowerShell or any process with arguments taken from the request and returns its output: the simplest web shell."
        family = "command shell"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003, T1059.003"
    strings:
        $start_req = /Process\.Start\s*\([^;]{0,200}Request\s*(\.\s*\w+\s*)?[\[\(]/ nocase
        $args_req = /\.(Arguments|FileName)\s*=\s*[^;]{0,120}Request\s*(\.\s*\w+\s*)?[\[\(]/ nocase
        $req_start = /Request\s*(\.\s*\w+\s*)?[\[\(][^;]{0,200}Process\.Start\s*\(/ nocase
        $shell_req = /(WScript\.Shell|Shell\.Application)["']?\s*\)[^%]{0,200}\.(Exec|Run|ShellExecute)\s*\([^)]{0,80}Request/ nocase
        $output = /StandardOutput|ReadToEnd|StdOut\.ReadAll/ nocase
    condition:
        filesize < 2MB and ($start_req or $args_req or $req_start or $shell_req) and
        ($output or $start_req or $shell_req)
}

rule exhunt_assembly_load_request : executes_request_input
{
    meta:
        id = "exhunt.yara.assembly-load-request"
        title = "Assembly loaded from request bytes"
        description = "A page loads a .NET assembly from bytes of the request (raw body, base64 parameter, uploaded file): a memory-only loader used by Godzilla, Behinder, SharPyShell and many private shells."
        family = "in-memory loader"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003, T1620"
    strings:
        $direct = /Assembly\s*\.\s*Load\s*\([^;]{0,200}(Request|InputStream|BinaryRead)/ nocase
        $reflect = /GetMethod\s*\(\s*"Load"[^;]{0,200}(Request|InputStream|BinaryRead)/ nocase
        $var_from = /byte\s*\[\s*\]\s*(\w{1,30})\s*=\s*[^;]{0,120}(Request|InputStream|BinaryRead)/ nocase
        $load_any = /Assembly\s*\.\s*Load\s*\(\s*(new\s|\w{1,30}\s*[,\)]|[\w\.]{1,80}TransformFinalBlock)/ nocase
    condition:
        filesize < 2MB and ($direct or $reflect or ($var_from and $load_any))
}

rule exhunt_request_exec_sink : executes_request_input
{
    meta:
        id = "exhunt.yara.request-exec-sink"
        title = "Request input reaches an execution sink"
        description = "Request input flows, within one statement, into an evaluator, a code compiler, a process or a dynamic method call: a web shell or a remote code execution hole, either way to examine."
        family = "heuristic"
        severity = "high"
        category = "webshell"
        attack = "T1505.003"
    strings:
        $a = /(CompileAssemblyFromSource|CSharpCodeProvider|VBCodeProvider|CodeDomProvider)[^;]{0,200}Request\s*(\.\s*\w+\s*)?[\[\(]/ nocase
        $b = /\beval\s*\([^;]{0,120}Request\s*(\.\s*\w+\s*)?[\[\(]/ nocase
        $c = /(Activator\.CreateInstance|Type\.GetType|InvokeMember)\s*\([^;]{0,120}Request\s*(\.\s*\w+\s*)?[\[\(]/ nocase
        $d = /Request\s*(\.\s*(Item|Form|QueryString|Params)\s*)?[\[\(][^;]{0,120}\)\s*\.\s*Invoke\s*\(/ nocase
        $e = /(ExecuteGlobal|[^\.\w]Execute)\s*\(\s*[\w\.]{0,40}(Decode|Base64|Reverse|Replace)\w*\s*\([^;]{0,80}Request/ nocase
    condition:
        filesize < 2MB and any of them
}

rule exhunt_obfuscated_eval : executes_request_input
{
    meta:
        id = "exhunt.yara.obfuscated-eval"
        title = "Encoded, reversed or string-built eval"
        description = "The evaluator itself is hidden: eval of base64-decoded text, a reversed string, the word built from character codes or fragments, or a base64 literal that decodes to Request, eval, Process or Assembly. Legitimate pages have no reason to hide a call to eval or the names of what they use."
        family = "obfuscated one-liner"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003, T1027"
    strings:
        $eval_b64 = /\beval\s*\(\s*[^;]{0,60}(GetString|FromBase64String|atob|unescape)\s*\(/ nocase
        $reverse = /(StrReverse|\.Reverse\s*\(\s*\))[^;]{0,120}(eval|execute)/ nocase
        $reversed_word = /["'](lave|etucexe|labolgetucexe)["']/ nocase
        $chr_eval = /chrw?\s*\(\s*101\s*\)\s*[&+]\s*chrw?\s*\(\s*118\s*\)\s*[&+]\s*chrw?\s*\(\s*97\s*\)\s*[&+]\s*chrw?\s*\(\s*108\s*\)/ nocase
        $chr_exec = /chrw?\s*\(\s*101\s*\)\s*[&+]\s*chrw?\s*\(\s*120\s*\)\s*[&+]\s*chrw?\s*\(\s*101\s*\)\s*[&+]\s*chrw?\s*\(\s*99\s*\)/ nocase
        $split_eval = /["']e["']\s*[+&]\s*["']v["']\s*[+&]\s*["']a["']\s*[+&]\s*["']l["']/ nocase
        $split_eval2 = /["']ev["']\s*[+&]\s*["']al["']/ nocase
        // base64 literals that decode to Request, eval, execute, Process, Assembly, cmd.exe or powershell
        $b64_code = /FromBase64String\s*\(\s*["'](UmVxdWVzd|ZXZhbC|ZXhlY3V0Z|RXhlY3V0Z|UHJvY2Vzc|QXNzZW1ibH|Y21kLmV4Z|cG93ZXJzaGVsb)/
        $server = /(<%|runat\s*=\s*["']?server)/ nocase
    condition:
        filesize < 2MB and $server and any of ($eval_b64, $reverse, $reversed_word, $chr_eval, $chr_exec, $split_eval, $split_eval2, $b64_code)
}

rule exhunt_unusual_obfuscation
{
    meta:
        id = "exhunt.yara.unusual-obfuscation"
        title = "Server-side script with obfuscation unusual for a page"
        description = "A server-side script holds a long base64 or hex blob, or hundreds of character-code fragments, next to a loader or evaluator. Pages generated by Visual Studio and Exchange's own pages do not look like this."
        family = "heuristic"
        severity = "medium"
        category = "webshell"
        attack = "T1505.003, T1027"
    strings:
        $server = /(<%@|runat\s*=\s*["']?server)/ nocase
        $b64blob = /["'][A-Za-z0-9+\/]{2000,}={0,2}["']/
        $hexblob = /["'](\\x[0-9a-fA-F]{2}){200,}["']/
        $chr = /chrw?\s*\(\s*\d{2,3}\s*\)\s*[&+]/ nocase
        $sink = /(Assembly\.Load|\beval\s*\(|Execute(Global)?\s*\(|Process\.Start|FromBase64String)/ nocase
    condition:
        filesize < 4MB and $server and $sink and ($b64blob or $hexblob or #chr > 100)
}

rule exhunt_small_uploader
{
    meta:
        id = "exhunt.yara.small-uploader"
        title = "Bare file uploader page (SIMPLESEESHARP style)"
        description = "A tiny page that saves the first uploaded file wherever the request says, with no form or checks: Volexity's SIMPLESEESHARP, dropped on Exchange in 2021, and its kind. Used to bring in further tools."
        family = "SIMPLESEESHARP"
        severity = "high"
        category = "webshell"
        attack = "T1505.003, T1105"
        reference = "https://www.volexity.com/blog/2021/03/02/active-exploitation-of-microsoft-exchange-zero-day-vulnerabilities/"
    strings:
        $files = /Request\.Files\s*\[\s*0\s*\]/ nocase
        $save = /\.SaveAs\s*\(\s*(Path\.Combine|Server\.MapPath)?\s*\(?[^;]{0,120}Request/ nocase
        $save_any = ".SaveAs(" nocase
        $form = "<form" nocase
    condition:
        filesize < 3KB and $files and ($save or $save_any) and not $form
}
