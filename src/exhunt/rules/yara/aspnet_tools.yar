/*
 * ASP.NET web shells by what they do rather than by family: JScript .NET eval, commands run
 * with their output sent back, files written where the request says, the server's drives
 * browsed, SQL run on a connection the request names, and the toolkit of namespaces the large
 * "spy" shells import. Written for exhunt from the .NET and ASP.NET documentation; no
 * third-party rule or sample text is reused.
 */

rule exhunt_jscript_page_eval : executes_request_input
{
    meta:
        id = "exhunt.yara.jscript-page-eval"
        title = "JScript .NET page or handler that calls eval"
        description = "An ASP.NET page, handler or service written in JScript .NET calls eval, or any script evaluates text with the \"unsafe\" option (which lets JScript .NET's eval use the whole .NET Framework): the China Chopper family in ASP.NET, whatever the request value is called or however it reaches eval. Legitimate JScript .NET pages are rare and have no use for eval."
        family = "China Chopper"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003"
    strings:
        $page = /<%\s*@\s*(Page|WebHandler|WebService|Control)[^>]{0,200}Language\s*=\s*\\?["']?\s*(jscript|javascript|js)\b/ nocase
        $script1 = /<script[^>]{0,100}runat\s*=\s*["']?server[^>]{0,100}language\s*=\s*["']?(jscript|javascript)/ nocase
        $script2 = /<script[^>]{0,100}language\s*=\s*["']?(jscript|javascript)[^>]{0,100}runat\s*=\s*["']?server/ nocase
        $eval = /\beval\s*(\/\*[^*]{0,40}\*\/\s*)?\(/
        $unsafe = /\beval\s*\([^;]{0,300}\bunsafe\b/ nocase
    condition:
        filesize < 2MB and ((any of ($page, $script1, $script2) and $eval) or $unsafe)
}

rule exhunt_process_output_page : executes_request_input
{
    meta:
        id = "exhunt.yara.process-output-page"
        title = "Page runs a command it was given and returns the output"
        description = "A server-side page or handler starts a process, reads its standard output back, and takes the command from the request or a form field, or runs cmd.exe or PowerShell: a command shell (cmdasp, Antak and their kind). A page that runs a fixed program does not match."
        family = "command shell"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003, T1059"
    strings:
        $server = /(<%@|runat\s*=\s*["']?server|IHttpHandler|\[WebMethod)/ nocase
        $start = /(ProcessStartInfo|Process\.Start\s*\(|new\s+(System\.Diagnostics\.)?Process\s*\(|\.StartInfo\b)/ nocase
        $output = /(RedirectStandardOutput|StandardOutput)/ nocase
        $shell = /["'](c:\\\\?windows\\\\?system32\\\\?)?(cmd|powershell)(\.exe)?["']/ nocase
        $slash_c = /["'][ \t]*\/c[ \t]/ nocase
        $from_field = /(ProcessStartInfo\s*\(|\.(FileName|Arguments)\s*=)\s*[^;\r\n]{0,80}\.text\b/ nocase
        $from_request = /(ProcessStartInfo\s*\(|\.(FileName|Arguments)\s*=)\s*[^;\r\n]{0,120}Request\s*(\.\s*\w+\s*)?[\[\(]/ nocase
        // the command handed in through a variable, on a page with a text box to type it in
        $from_variable = /\.(FileName|Arguments)\s*=\s*[a-z_]\w{0,30}\s*;/ nocase
        $textbox = /<asp:TextBox\b/ nocase
    condition:
        filesize < 2MB and $server and $start and $output and
        ($shell or $slash_c or $from_field or $from_request or ($from_variable and $textbox))
}

rule exhunt_request_path_write
{
    meta:
        id = "exhunt.yara.request-path-write"
        title = "Page writes a file at a path the request or a form field gives"
        description = "A page creates or overwrites a file whose whole path comes from the request or from a text box, or writes a string holding another server page: an uploader or dropper that plants further web shells anywhere the web server may write."
        family = "uploader"
        severity = "high"
        category = "webshell"
        attack = "T1505.003, T1105"
    strings:
        $server = /(<%|runat\s*=\s*["']?server|IHttpHandler|\[WebMethod)/ nocase
        $to_request = /(new\s+(System\.IO\.)?(StreamWriter|FileStream)|File\.(WriteAllText|WriteAllBytes|AppendAllText|CreateText|Create|OpenWrite))\s*\(\s*(Server\.MapPath\s*\(\s*)?((HttpContext\.Current|context|this)\.)?Request\s*(\.\s*\w+\s*)?[\[\(]/ nocase
        $to_field = /(new\s+(System\.IO\.)?(StreamWriter|FileStream)|File\.(WriteAllText|WriteAllBytes|AppendAllText|CreateText|Create|OpenWrite))\s*\(\s*(this\.)?\w{1,40}\.Text\s*[,\)]/ nocase
        $saveas = /\.SaveAs\s*\(\s*(Server\.MapPath\s*\(\s*)?((HttpContext\.Current|context|this)\.)?Request\s*(\.\s*\w+\s*)?[\[\(]/ nocase
        $info_field = /new\s+(System\.IO\.)?FileInfo\s*\(\s*(this\.)?\w{1,40}\.Text\s*\)/ nocase
        $page_string = /["']\s*<%\s*@?\s*(Page|WebHandler)[^\r\n]{0,80}Language/ nocase
        $include_string = /["']\s*<!--\s*#include\s+(file|virtual)/ nocase
        $writer = /(File\.(CreateText|WriteAllText|WriteAllBytes|AppendAllText)|StreamWriter|CreateTextFile|\.CreateText\s*\()/ nocase
    condition:
        filesize < 2MB and $server and
        ($to_request or $to_field or $saveas or (($info_field or $page_string or $include_string) and $writer))
}

rule exhunt_drive_browser
{
    meta:
        id = "exhunt.yara.drive-browser"
        title = "Page lists the server's drives and works on files the request names"
        description = "A page enumerates the server's logical drives and moves, copies, deletes or lists files and folders the request names: the file manager of China Chopper's customised server and of most spy shells. Applications keep their file pages inside their own folders and have no use for the list of drives."
        family = "file manager"
        severity = "high"
        category = "webshell"
        attack = "T1505.003, T1083"
    strings:
        $server = /(<%|runat\s*=\s*["']?server|IHttpHandler|\[WebMethod)/ nocase
        $drives = /(GetLogicalDrives|DriveInfo\.GetDrives)\s*\(/ nocase
        $asp_drives = /\.drives\b/ nocase
        $fso = "filesystemobject" nocase
        $fileop = /(File\.(Delete|Move|Copy|WriteAllBytes|WriteAllText|ReadAllBytes|SetAttributes|SetLastWriteTime)|Directory\.(Delete|Move|GetFiles|GetDirectories)|DirectoryInfo|\.(DeleteFile|CopyFile|MoveFile|GetFolder|DeleteFolder))\s*\(/ nocase
        $request = /Request\s*(\.\s*(Form|QueryString|Item|Params)\s*)?[\[\(]/ nocase
    condition:
        filesize < 2MB and $server and ($drives or ($asp_drives and $fso)) and $fileop and $request
}

rule exhunt_sql_client_from_request
{
    meta:
        id = "exhunt.yara.sql-client-from-request"
        title = "Page runs SQL the user supplies on a connection the user names, or xp_cmdshell"
        description = "The connection string and the SQL both come from the request or from the page's text boxes (a database client web shell, used to dump mail and directory databases), or the page calls SQL Server's xp_cmdshell or OLE automation procedures to run commands through the database."
        family = "database shell"
        severity = "high"
        category = "webshell"
        attack = "T1505.003, T1005"
    strings:
        $server = /(<%|runat\s*=\s*["']?server|IHttpHandler|\[WebMethod)/ nocase
        $conn_request = /(conn\w{0,20}|ConnectionString|DSN)\s*=\s*[^;\r\n]{0,30}Request\s*(\.\s*\w+\s*)?[\[\(]/ nocase
        $conn_direct = /(Sql|OleDb|Odbc)Connection\s*\(\s*((HttpContext\.Current|context|this)\.)?Request\s*(\.\s*\w+\s*)?[\[\(]/ nocase
        $sql_request = /(sql\w{0,20}|query\w{0,10}|CommandText|cmdText)\s*=\s*[^;\r\n]{0,30}Request\s*(\.\s*\w+\s*)?[\[\(]/ nocase
        $command_direct = /(SqlCommand|OleDbCommand|OdbcCommand|\.Execute)\s*\(\s*((HttpContext\.Current|context|this)\.)?Request\s*(\.\s*\w+\s*)?[\[\(]/ nocase
        $xp = /\b(xp_cmdshell|sp_oacreate|sp_oamethod)\b/ nocase
        // both typed into the page's own text boxes
        $conn_field = /(ConnectionString\s*=|Connection\s*\()\s*[^;]{0,80}\.Text\b/ nocase
        $sql_field = /((Sql|OleDb|Odbc)Command\s*\(\s*(this\.)?\w{1,40}\.Text\b|CommandText\s*=\s*(this\.)?\w{1,40}\.Text\b)/ nocase
    condition:
        filesize < 2MB and $server and (
            (($conn_request or $conn_direct) and ($sql_request or $command_direct)) or
            ($conn_field and $sql_field) or
            $xp
        )
}

rule exhunt_xslt_script_exec : executes_request_input
{
    meta:
        id = "exhunt.yara.xslt-script-exec"
        title = "Page runs a command from an XSLT script block"
        description = "A page transforms XML with a stylesheet whose msxsl:script block starts processes or WScript.Shell: code execution hidden in a stylesheet, out of reach of signatures that look at the page's own code."
        family = "XSLT shell"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003, T1220"
    strings:
        $server = /(<%|runat\s*=\s*["']?server|IHttpHandler)/ nocase
        $script = "msxsl:script" nocase
        $exec = /(wscript\.shell|Process\.Start|ProcessStartInfo|System\.Diagnostics\.Process)/ nocase
        $request = /Request\s*(\.\s*(Form|QueryString|Item|Params)\s*)?[\[\(]/ nocase
        $assembly = "msxsl:assembly" nocase
    condition:
        filesize < 2MB and $server and $script and ($exec or ($assembly and $request))
}

rule exhunt_toolkit_page
{
    meta:
        id = "exhunt.yara.toolkit-page"
        title = "Page importing a server administration toolkit"
        description = "A single page imports five or more of the namespaces for processes, WMI, Active Directory, the registry, sockets, services, native calls and database drivers, lists and kills the server's processes, or sniffs the network on a raw socket: the all-in-one spy shells (ASPXSpy and its many renamed copies) and their tools. Application pages keep such code in compiled assemblies."
        family = "spy shell"
        severity = "high"
        category = "webshell"
        attack = "T1505.003"
    strings:
        $i1 = /<%@\s*Import\s+Namespace\s*=\s*["']?System\.Diagnostics["'\s]/ nocase
        $i2 = /<%@\s*Import\s+Namespace\s*=\s*["']?System\.Management["'\s]/ nocase
        $i3 = /<%@\s*Import\s+Namespace\s*=\s*["']?System\.DirectoryServices["'\s]/ nocase
        $i4 = /<%@\s*Import\s+Namespace\s*=\s*["']?Microsoft\.Win32["'\s]/ nocase
        $i5 = /<%@\s*Import\s+Namespace\s*=\s*["']?System\.Net\.Sockets["'\s]/ nocase
        $i6 = /<%@\s*Import\s+Namespace\s*=\s*["']?System\.ServiceProcess["'\s]/ nocase
        $i7 = /<%@\s*Import\s+Namespace\s*=\s*["']?System\.Runtime\.InteropServices["'\s]/ nocase
        $i8 = /<%@\s*Import\s+Namespace\s*=\s*["']?System\.Data\.OleDb["'\s]/ nocase
        $i9 = /<%@\s*Import\s+Namespace\s*=\s*["']?System\.Data\.SqlClient["'\s]/ nocase
        $server = /(<%@|runat\s*=\s*["']?server)/ nocase
        $list = /Process\.GetProcesses\s*\(/ nocase
        $kill = /\.Kill\s*\(\s*\)/ nocase
        $request = /Request\s*(\.\s*(Form|QueryString|Item|Params)\s*)?[\[\(]/ nocase
        $raw_socket = /SocketType\.Raw\b/ nocase
        $promiscuous = /\.IOControl\s*\(/ nocase
    condition:
        filesize < 2MB and (
            5 of ($i*) or
            ($server and $list and $kill and $request) or
            ($server and $raw_socket and $promiscuous)
        )
}

rule exhunt_chopper_customize_server : executes_request_input
{
    meta:
        id = "exhunt.yara.chopper-customize-server"
        title = "China Chopper customised server (z, z1, z2 commands)"
        description = "The \"customize\" server of China Chopper: a handler or service that reads the command letter from the form field z and its arguments from z1 and z2, and answers each letter (drives, folder listing, file read and write, download, command, SQL)."
        family = "China Chopper"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003"
    strings:
        $z = /Request\.Form\s*\[\s*"z"\s*\]/ nocase
        $z1 = /Request\.Form\s*\[\s*"z1"\s*\]/ nocase
        $case = /case\s+"[A-Q]"\s*:/
    condition:
        filesize < 2MB and $z and $z1 and #case > 5
}

rule exhunt_writable_folder_scan
{
    meta:
        id = "exhunt.yara.writable-folder-scan"
        title = "Page probes folders for write access"
        description = "A page walks folders and creates then deletes a probe file in each, to find where the web server's account may write: reconnaissance from a foothold, before a web shell or a tool is planted there."
        family = "reconnaissance"
        severity = "high"
        category = "webshell"
        attack = "T1505.003, T1083"
    strings:
        $server = /(<%|runat\s*=\s*["']?server|IHttpHandler)/ nocase
        $create = /File\.Create\s*\(\s*\w{1,30}\.FullName\s*\+/ nocase
        $delete = /File\.Delete\s*\(\s*\w{1,30}\.FullName\s*\+/ nocase
        $can_write = /File\.Create\s*\([^;]{0,80}\)\s*\.CanWrite/ nocase
        $walk = /\.GetDirectories\s*\(/ nocase
        // the classic ASP form: FileSystemObject over each folder's SubFolders
        $asp_create = /\.createtextfile[ \t]*[\( ]/ nocase
        $asp_delete = /\.deletefile[ \t]*[\( ]/ nocase
        $asp_walk = /\.subfolders\b/ nocase
    condition:
        filesize < 2MB and $server and (
            ($create and ($delete or $can_write) and $walk) or
            ($asp_create and $asp_delete and $asp_walk)
        )
}

rule exhunt_webadmin2y_stub
{
    meta:
        id = "exhunt.yara.webadmin2y-stub"
        title = "WebAdmin2Y backdoor loader page"
        description = "A page whose script block only creates WebAdmin2Y.x.y with a key: the stub that activates the WebAdmin2Y backdoor, whose code lives in an assembly under bin. Look for that assembly too."
        family = "WebAdmin2Y"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003"
    strings:
        $class = /WebAdmin2Y\.x\.y\s*\(/
    condition:
        filesize < 1MB and $class
}

rule exhunt_native_code_page
{
    meta:
        id = "exhunt.yara.native-code-page"
        title = "Page declares native Windows calls (P/Invoke into kernel32, ntdll, advapi32, shell32)"
        description = "A page declares native functions of kernel32, ntdll, advapi32 or shell32: to start processes below .NET's view (CreateProcess, WinExec, ShellExecuteEx), run as another user (LogonUser, CreateProcessAsUser), patch AMSI or ETW in memory, or run shellcode (VirtualAlloc, CreateThread). Web applications keep native calls in compiled assemblies, never in a page."
        family = "evasive shell"
        severity = "high"
        category = "webshell"
        attack = "T1505.003, T1106"
    strings:
        $server = /(<%|runat\s*=\s*["']?server|IHttpHandler|\[WebMethod)/ nocase
        $import = /DllImport\s*\(\s*"(kernel32|ntdll|advapi32|shell32)(\.dll)?"/ nocase
    condition:
        filesize < 2MB and $server and $import
}

rule exhunt_code_host_page : executes_request_input
{
    meta:
        id = "exhunt.yara.code-host-page"
        title = "Page hosts PowerShell, compiles code or starts processes through WMI or MSBuild"
        description = "A page runs PowerShell in-process (System.Management.Automation), compiles and runs C# at run time (CodeDOM, Roslyn scripting), creates processes through WMI's Win32_Process, or hands a project to MSBuild: ways to run commands that avoid Process.Start and cmd.exe."
        family = "evasive shell"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003, T1059.001, T1047, T1127.001"
    strings:
        $server = /(<%|runat\s*=\s*["']?server|IHttpHandler|\[WebMethod)/ nocase
        $ps_ns = "System.Management.Automation" nocase
        $ps_run = /(\.AddScript\s*\(|\.AddCommand\s*\(|RunspaceFactory\.|PowerShell\.Create\s*\()/ nocase
        $compile = /(CompileAssemblyFromSource|CSharpScript\s*\.\s*(EvaluateAsync|RunAsync|Create|Evaluate)|CSharpCompilation\s*\.\s*Create)\b/ nocase
        $wmi_class = "Win32_Process" nocase
        $wmi_create = /(InvokeMethod\s*\(\s*"Create"|\.Create\s*\(|"Create")/ nocase
        $msbuild = /msbuild(\.exe)?\b/ nocase
        $start = /(Process\.Start\s*\(|ProcessStartInfo)/ nocase
    condition:
        filesize < 2MB and $server and (
            ($ps_ns and $ps_run) or $compile or ($wmi_class and $wmi_create) or ($msbuild and $start)
        )
}

rule exhunt_encrypted_loader_page : executes_request_input
{
    meta:
        id = "exhunt.yara.encrypted-loader-page"
        title = "Page decrypts request data and loads it as code"
        description = "A page decrypts base64 request data with a symmetric cipher and loads or invokes the result (Assembly.Load, CreateInstance, a session-kept payload): Godzilla, Behinder and their rewritten variants, whatever names and comments they wear."
        family = "Godzilla/Behinder"
        severity = "critical"
        category = "webshell"
        attack = "T1505.003, T1620, T1027"
    strings:
        $server = /(<%|runat\s*=\s*["']?server|IHttpHandler)/ nocase
        $decrypt = /(CreateDecryptor|TransformFinalBlock)\s*\(/ nocase
        $b64 = "FromBase64String" nocase
        $request = /Request\s*(\.\s*(Form|Item|Params|Cookies|InputStream|BinaryRead)\s*)?[\[\(\.]/ nocase
        $load = /(Assembly\s*\.\s*Load\s*\(|\.CreateInstance\s*\(|GetMethod\s*\(|\.Invoke\s*\()/ nocase
    condition:
        filesize < 2MB and $server and $decrypt and $b64 and $request and $load
}

rule exhunt_char_array_strings
{
    meta:
        id = "exhunt.yara.char-array-strings"
        title = "Words spelt out as character arrays in a page"
        description = "A server-side script spells several strings one character at a time (new string(new char[]{'L','o','a','d'})) so that the names it uses never appear whole. Generated and hand-written pages have no reason to; web shell obfuscators do it to hide Load, Invoke, a password or a key."
        family = "obfuscated script"
        severity = "high"
        category = "webshell"
        attack = "T1505.003, T1027"
    strings:
        $server = /(<%|runat\s*=\s*["']?server|IHttpHandler)/ nocase
        $chars = /new\s+string\s*\(\s*new\s+char\s*\[\s*\]\s*\{\s*'[^']{1,2}'\s*,\s*'[^']{1,2}'\s*,\s*'[^']{1,2}'/
    condition:
        filesize < 2MB and $server and #chars >= 2
}

rule exhunt_registry_browser
{
    meta:
        id = "exhunt.yara.registry-browser"
        title = "Page opens registry keys the user names"
        description = "A page opens registry keys whose path comes from the request or a text box and lists or prints them: a registry browser, used to read service settings, stored credentials and installed software from a foothold."
        family = "reconnaissance"
        severity = "high"
        category = "webshell"
        attack = "T1505.003, T1012"
    strings:
        $server = /(<%|runat\s*=\s*["']?server|IHttpHandler)/ nocase
        $open_user = /OpenSubKey\s*\(\s*[^;\r\n]{0,60}(Request\s*(\.\s*\w+\s*)?[\[\(]|\.Text\b)/ nocase
        $assign_user = /\w\s*=\s*((this|context|HttpContext\.Current)\.)?Request\s*(\.\s*(QueryString|Form|Item|Params)\s*)?[\[\(][^;\r\n]{0,40};/ nocase
        $open_var = /OpenSubKey\s*\(\s*[a-z_]\w{0,30}\s*\)/ nocase
        $values = /\.(GetValueNames|GetSubKeyNames)\s*\(/ nocase
    condition:
        filesize < 2MB and $server and $values and ($open_user or ($open_var and $assign_user))
}
