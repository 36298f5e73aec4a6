/*
 * Classic ASP (VBScript and JScript in <% %> blocks, .asp/.asa/.cer/.cdx) web shells by what
 * they do: run request text through Execute or Eval (directly, through a variable, a session
 * value or a decoder), drive WScript.Shell, write files with request content, or hide the
 * script from a reader. IIS still runs classic ASP on many Exchange servers' default site.
 * Written for exhunt from the VBScript and JScript language references; no third-party rule
 * or sample text is reused.
 *
 * The statement patterns exclude method calls (".Execute" is ADO's Connection.Execute and
 * Server.Execute, both everyday classic ASP): the VBScript statements Execute, ExecuteGlobal
 * and Eval are preceded by a line start, a separator or an opening bracket.
 */

rule exhunt_asp_execute_indirect : executes_request_input
{
    meta:
        id = "exhunt.yara.asp-execute-indirect"
        title = "Classic ASP: Execute or Eval of text the request supplied"
        description = "A small ASP page reads a request value, the raw request body or a session value and hands a variable to VBScript's Execute, ExecuteGlobal or Eval (or JScript's eval): the one-liner web shell with the request value passed through a variable, so that it does not appear next to the call."
        family = "China Chopper (ASP)"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003, T1059.005"
    strings:
        $server = "<%"
        $exec = /(^|[\s:;%>(])(execute|executeglobal|eval)([ \t]*\([ \t]*|[ \t]+)([a-z_]\w{0,40}[ \t]*[),\r\n%:\x27]|session[ \t]*[\(\[])/ nocase
        $request = /\brequest[ \t]*(\.[ \t]*(form|querystring|item|cookies)[ \t]*)?[\(\[]/ nocase
        $body = /request[ \t]*\.[ \t]*binaryread/ nocase
        $eval_ref = /return[ \t]+eval\b/
        // ASP.NET pages call methods named Execute and bind data with Eval(...): not this rule's
        $aspnet = /<%@\s*(Page|Control|WebHandler|WebService|Master)\b/ nocase
    condition:
        filesize < 4KB and $server and ($exec or $eval_ref) and ($request or $body) and not $aspnet
}

rule exhunt_asp_execute_decoded : executes_request_input
{
    meta:
        id = "exhunt.yara.asp-execute-decoded"
        title = "Classic ASP: Execute or Eval of decoded text"
        description = "VBScript's Execute, ExecuteGlobal or Eval runs the result of a decoder (unescape, a reversal, a base64, hex or character-code decoder) or of a function applied to a long encoded literal: the script hides the code it runs. Pages have no reason to run code they had to decode first."
        family = "obfuscated one-liner"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003, T1027, T1059.005"
    strings:
        $server = "<%"
        $decoder = /(^|[\s:;%>(])(execute|executeglobal|eval)[ \t]*\(?[ \t]*\(?[ \t]*(unescape|\w{0,12}decode\w{0,12}|unencode|deasc|strreverse|reverse|chrw?|\w{0,8}base64\w{0,8}|\w{0,8}hex\w{0,8}|bin2str|asc2str)[ \t]*\(/ nocase
        $literal = /(^|[\s:;%>(])(execute|executeglobal|eval)[ \t]*\(?[ \t]*\w{1,30}[ \t]*\(?[ \t]*"[%0-9a-fA-F \t,&|]{24,}"/ nocase
    condition:
        filesize < 2MB and $server and ($decoder or $literal)
}

rule exhunt_asp_wscript_shell : executes_request_input
{
    meta:
        id = "exhunt.yara.asp-wscript-shell"
        title = "Script runs commands through WScript.Shell"
        description = "A server-side script creates WScript.Shell and runs a command with Exec or Run, on a page that reads the request, or inside an XSLT script block that runs cmd /c or reads the output back: a command shell in classic ASP. A library that runs a fixed command (a directory listing) without reading the request does not match."
        family = "command shell"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003, T1059.003"
    strings:
        $server1 = "<%"
        $server2 = /runat\s*=\s*["']?server/ nocase
        $server3 = "msxsl:script" nocase
        $wsh = "wscript.shell" nocase
        // the same objects by class id, in <object runat=server classid=...> tags
        $wsh_clsid = "72C24DD5-D70A-438B-8A42-98424B88AFB8" nocase
        $shell_app_clsid = "13709620-C279-11CE-A49E-444553540000" nocase
        $run = /\.(exec|run)[ \t]*[\( ]/ nocase
        $request = /\brequest[ \t]*(\.[ \t]*(form|querystring|item)[ \t]*)?[\(\[]/ nocase
        $output = /\.stdout\.readall/ nocase
        $cmd = /cmd(\.exe)?[ \t]+\/c/ nocase
    condition:
        filesize < 2MB and any of ($server*) and ($wsh or $wsh_clsid or $shell_app_clsid) and
        $run and ($request or (($output or $cmd) and $server3))
}

rule exhunt_asp_file_dropper
{
    meta:
        id = "exhunt.yara.asp-file-dropper"
        title = "Small ASP page that writes request content to a file, or fetches a file from the web"
        description = "A page creates a file at a path the request gives, or a page of a few kilobytes writes text from the request to a file with FileSystemObject, or downloads a URL and saves it with ADODB.Stream: the small uploaders attackers use to bring in a larger web shell."
        family = "ASP uploader"
        severity = "high"
        category = "webshell"
        attack = "T1505.003, T1105"
    strings:
        $server = "<%"
        $fso = "scripting.filesystemobject" nocase
        $create = /\.(createtextfile|opentextfile)[ \t]*\(/ nocase
        // what is written is the request's: directly, or a variable assigned from it
        $write_request = /\.write(line)?[ \t]*\(?[ \t]*request\b/ nocase
        $assign_request = /\w[ \t]*=[ \t]*request[ \t]*(\.[ \t]*(form|querystring|item)[ \t]*)?[\(\[]/ nocase
        $write_variable = /\.write(line)?[ \t]*\(?[ \t]*[a-z_]\w{0,30}[ \t]*\)?[ \t]*[\r\n:%\x27]/ nocase
        $request = /\brequest[ \t]*(\.[ \t]*(form|querystring|item)[ \t]*)?[\(\[]/ nocase
        $stream = "adodb.stream" nocase
        $save = /\.savetofile\b/ nocase
        $http = /(xmlhttp|serverxmlhttp|winhttprequest)/ nocase
        $form = /<form\b[^>]{0,200}(multipart|enctype)/ nocase
        $create_at_request = /\.(createtextfile|opentextfile)[ \t]*\([ \t]*(server[ \t]*\.[ \t]*mappath[ \t]*\([ \t]*)?request\b/ nocase
    condition:
        (filesize < 2MB and $server and $create_at_request) or
        (filesize < 3KB and $server and $fso and $create and $assign_request) or
        filesize < 8KB and $server and (
            ($fso and $create and ($write_request or ($assign_request and $write_variable))) or
            ($stream and $save and $http) or
            ($stream and $save and $request and not $form)
        )
}

rule exhunt_asp_script_engine
{
    meta:
        id = "exhunt.yara.asp-script-engine"
        title = "Page drives a script engine object (ScriptControl)"
        description = "A server-side script hands code to a script engine object's ExecuteStatement, AddCode or Eval: a second interpreter inside the page, used to run request text past filters that look for Execute and Eval."
        family = "obfuscated one-liner"
        severity = "high"
        category = "webshell"
        attack = "T1505.003, T1059"
    strings:
        $server = "<%"
        $engine = /\.(executestatement|addcode)[ \t]*[\( ]/ nocase
        $control = "scriptcontrol" nocase
        $create = /createobject[ \t]*\(/ nocase
    condition:
        filesize < 2MB and $server and $engine and ($control or $create)
}

rule exhunt_encoded_server_script
{
    meta:
        id = "exhunt.yara.encoded-server-script"
        title = "Server-side script hidden by encoding (Script Encoder, UTF-7 code page)"
        description = "The page's server code is encoded with Microsoft's Script Encoder (#@~^ ... ^#~@, VBScript.Encode or JScript.Encode), or the page declares the UTF-7 code page so that its code reads as noise. Both hide a web shell from a reader and from signatures; the Script Encoder is also, rarely, used by old applications to hide their source."
        family = "obfuscated script"
        severity = "medium"
        category = "webshell"
        attack = "T1505.003, T1027"
    strings:
        $server = /(<%|runat\s*=\s*["']?server)/ nocase
        $encoded = /#@~\^[A-Za-z0-9+\/]{6}==/
        $language = /language\s*=\s*["']?(vbscript|jscript)\.encode/ nocase
        $utf7 = /<%@[^%]{0,60}codepage\s*=\s*["']?65000/ nocase
    condition:
        filesize < 2MB and $server and ($encoded or $language or $utf7)
}

rule exhunt_asp_split_progid
{
    meta:
        id = "exhunt.yara.asp-split-progid"
        title = "COM object created from a name built in pieces"
        description = "A script builds the name of the COM object it creates from fragments or character codes (\"scr\"&\"ipting.File...\", \"WScr\"&Chr(105)...): the object names signatures look for (FileSystemObject, WScript.Shell, ScriptControl) are hidden. Applications write the names whole."
        family = "obfuscated script"
        severity = "high"
        category = "webshell"
        attack = "T1505.003, T1027"
    strings:
        $server = /(<%|runat\s*=\s*["']?server)/ nocase
        $split = /createobject[ \t]*\([ \t]*"[^"\r\n]{1,12}"[ \t]*[&+][ \t]*("|chrw?[ \t]*\(|[a-z_]\w{0,20}[ \t]*[&+])/ nocase
        $chr_first = /createobject[ \t]*\([ \t]*chrw?[ \t]*\([ \t]*[&\w]{1,8}[ \t]*\)[ \t]*[&+]/ nocase
    condition:
        filesize < 2MB and $server and ($split or $chr_first)
}

rule exhunt_asp_execute_variable
{
    meta:
        id = "exhunt.yara.asp-execute-variable"
        title = "Classic ASP runs code held in a variable (Execute, ExecuteGlobal)"
        description = "A classic ASP page hands a variable to VBScript's Execute or ExecuteGlobal: it runs code assembled at run time, which is how rewritten one-liners hide the word eval and the request parameter in split strings. A few old template engines do this legitimately, hence medium: examine what builds the string."
        family = "obfuscated one-liner"
        severity = "medium"
        category = "webshell"
        attack = "T1505.003, T1059.005"
    strings:
        $server = "<%"
        $exec_var = /(^|[\s:;%>(])(execute|executeglobal)[ \t]*\(?[ \t]*[a-z_]\w{0,40}[ \t]*\)?[ \t]*[\r\n%:\x27]/ nocase
        $aspnet = /<%@\s*(Page|Control|WebHandler|WebService|Master)\b/ nocase
    condition:
        filesize < 2MB and $server and $exec_var and not $aspnet
}
