package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"strings"
)

// ProbeSource is the PHP probe. verify writes one copy per vhost, named
// NAME.php, and beside it NAME.json holding a ProbeConfig. The probe takes
// nothing from the request but the uploaded file: it reads only the files
// its configuration lists, asks function_exists about names read at run
// time, and calls nothing that would replace the worker or send mail.
const ProbeSource = `<?php
// phpguard verify probe. Made by phpguard verify for one vhost and removed
// when it ends. It reads only the files listed in the .json file beside it.
ob_start();
ini_set('display_errors', '0');
$out = ['probe' => 'phpguard-verify', 'php_version' => PHP_VERSION];

// Every warning is kept, not only the last: an open_basedir refusal is
// one warning, and the failed open that follows it another.
$warnings = [];
set_error_handler(function ($no, $msg) use (&$warnings) { $warnings[] = $msg; return true; });
$take = function () use (&$warnings) { $w = implode(' | ', $warnings); $warnings = []; return $w; };

$take();
$raw = @file_get_contents(substr(__FILE__, 0, -4) . '.json');
$cfg = is_string($raw) ? json_decode($raw, true) : null;
if (!is_array($cfg)) {
	$out['config_error'] = 'read the probe configuration: ' . $take();
} else {
	$out['nonce'] = (string) $cfg['nonce'];

	// Each read either returns the content, whose hash verify compares,
	// or fails with PHP's warning.
	$out['reads'] = new stdClass();
	foreach ($cfg['reads'] as $key => $file) {
		$take();
		$data = @file_get_contents($file);
		$out['reads']->$key = [
			'read' => is_string($data),
			'sha256' => is_string($data) ? hash('sha256', $data) : '',
			'error' => $take(),
		];
	}

	// PHP 8 removes a disabled function from the function table. The name
	// comes from a variable: opcache may fold function_exists('literal')
	// at compile time, and ini_get shows a setting that mod_php may not
	// enforce (php-src GH-19018).
	$out['functions'] = new stdClass();
	foreach ($cfg['functions'] as $name) {
		$out['functions']->$name = function_exists($name);
	}
	$out['ini_disable_functions'] = (string) ini_get('disable_functions');
}

$out['upload'] = ['present' => false];
if (isset($_FILES['f']) && is_array($_FILES['f'])) {
	$out['upload'] = [
		'present' => true,
		'error' => (int) $_FILES['f']['error'],
		'tmp_name' => (string) $_FILES['f']['tmp_name'],
	];
}

$out['session'] = ['started' => false, 'error' => 'the session extension is not loaded'];
if (function_exists('session_start') && is_array($cfg)) {
	// The id is verify's, so that verify finds the file and removes it
	// even when it never sees this answer.
	$take();
	session_id((string) $cfg['session_id']);
	$started = @session_start(['use_cookies' => 0, 'use_strict_mode' => 0]);
	$out['session'] = [
		'started' => $started,
		'id' => (string) session_id(),
		'save_path' => (string) session_save_path(),
		'error' => $take(),
	];
	if ($started) {
		$_SESSION['phpguard_verify'] = 1;
		$take();
		$out['session']['written'] = @session_write_close();
		$out['session']['error'] = $take();
	}
}

$take();
$tmp = @tempnam(sys_get_temp_dir(), 'phpguard-verify-');
$out['tempfile'] = [
	'sys_temp_dir' => sys_get_temp_dir(),
	'path' => is_string($tmp) ? $tmp : '',
	'error' => $take(),
];
if (is_string($tmp)) {
	@unlink($tmp);
}

ob_end_clean();
header('Content-Type: application/json');
echo json_encode($out);
`

// The keys of ProbeConfig.Reads.
const (
	readOwn    = "own"
	readOther  = "other"
	readPrefix = "prefix"
	readHost   = "host"
)

// ProbeConfig is the file beside each probe: what it reads and which
// functions it asks about. Paths are as the private Apache sees them.
type ProbeConfig struct {
	Nonce     string            `json:"nonce"`
	SessionID string            `json:"session_id"`
	Reads     map[string]string `json:"reads"`
	Functions []string          `json:"functions"`
}

// ProbeOutput is what the probe answers.
type ProbeOutput struct {
	Probe       string               `json:"probe"`
	PHPVersion  string               `json:"php_version"`
	ConfigError string               `json:"config_error"`
	Nonce       string               `json:"nonce"`
	Reads       map[string]ProbeRead `json:"reads"`
	Functions   map[string]bool      `json:"functions"`
	IniDisable  string               `json:"ini_disable_functions"`
	Upload      ProbeUpload          `json:"upload"`
	Session     ProbeSession         `json:"session"`
	TempFile    ProbeTempFile        `json:"tempfile"`
}

// ProbeRead is the outcome of one read by the probe.
type ProbeRead struct {
	Read   bool   `json:"read"`
	SHA256 string `json:"sha256"`
	Error  string `json:"error"`
}

// ProbeUpload is what PHP did with the uploaded file.
type ProbeUpload struct {
	Present bool   `json:"present"`
	Error   int    `json:"error"`
	TmpName string `json:"tmp_name"`
}

// ProbeSession is what PHP did with a session.
type ProbeSession struct {
	Started  bool   `json:"started"`
	Written  bool   `json:"written"`
	ID       string `json:"id"`
	SavePath string `json:"save_path"`
	Error    string `json:"error"`
}

// ProbeTempFile is where tempnam(sys_get_temp_dir()) made its file.
type ProbeTempFile struct {
	SysTempDir string `json:"sys_temp_dir"`
	Path       string `json:"path"`
	Error      string `json:"error"`
}

// Observed is everything verify saw for one vhost, the input of Judge.
// Paths are as the private Apache sees them (under Options.Root).
type Observed struct {
	// ProbeErr is set when the probe did not answer as expected (the
	// vhost is not served, PHP is off, the answer is not the probe's).
	ProbeErr string
	Probe    *ProbeOutput
	Nonce    string            // what the probe should echo
	Want     map[string]string // read key → the SHA-256 of the file's content
	Tmp      string            // the account's /tmp

	// SessionFile: the session file was found in the account's /tmp by
	// verify itself, after the request.
	SessionFile bool

	// The symlink check: the HTTP status of the request for the link, and
	// whether the body was the other account's file. SymlinkErr is set
	// when the check could not be made.
	SymlinkStatus int
	SymlinkServed bool
	SymlinkErr    string
}

// Judge turns what verify saw for one vhost into one result per promise,
// in the order of Promises.
func Judge(vp VhostPlan, o Observed) []Result {
	var out []Result
	add := func(p Promise, s Status, detail string) {
		out = append(out, Result{Promise: string(p), Status: s, Detail: detail})
	}
	probeErr := o.ProbeErr
	if probeErr == "" {
		switch {
		case o.Probe == nil:
			probeErr = "the probe gave no answer"
		case o.Probe.ConfigError != "":
			probeErr = o.Probe.ConfigError
		case o.Probe.Nonce != o.Nonce:
			probeErr = "the answer came from another vhost's probe"
		}
	}

	for _, p := range Promises {
		if p == Symlink {
			s, d := judgeSymlink(vp, o)
			add(p, s, d)
			continue
		}
		if probeErr != "" {
			add(p, NotEnforced, probeErr)
			continue
		}
		s, d := judgeProbe(p, vp, o)
		add(p, s, d)
	}
	return out
}

func judgeProbe(p Promise, vp VhostPlan, o Observed) (Status, string) {
	pr := o.Probe
	switch p {
	case OwnFiles:
		r := pr.Reads[readOwn]
		if r.Read && r.SHA256 == o.Want[readOwn] {
			return Enforced, ""
		}
		return NotEnforced, "PHP cannot read a file in the account's root, so the read checks prove nothing: " + short(r.Error)
	case OtherAccount:
		if vp.Other == "" {
			return Skipped, "no other account has a vhost"
		}
		return judgeRead(pr.Reads[readOther], vp.Other+"'s file")
	case PrefixAccount:
		if vp.Prefix == "" {
			return Skipped, "no account's name shares a prefix with " + vp.Account
		}
		return judgeRead(pr.Reads[readPrefix], vp.Prefix+"'s file")
	case HostFile:
		return judgeRead(pr.Reads[readHost], HostPasswd)
	case DisableFunctions:
		return judgeFunctions(vp, pr)
	case Uploads:
		u := pr.Upload
		switch {
		case !u.Present:
			return NotEnforced, "PHP did not take the upload"
		case u.Error != 0:
			return NotEnforced, fmt.Sprintf("the upload failed with PHP error %d", u.Error)
		case path.Dir(u.TmpName) != o.Tmp:
			return NotEnforced, "the upload went to " + u.TmpName
		}
		return Enforced, ""
	case Sessions:
		s := pr.Session
		switch {
		case !s.Started:
			return NotEnforced, "no session: " + short(s.Error)
		case !o.SessionFile:
			detail := "the session file is not in the account's /tmp (session.save_path is " + s.SavePath + ")"
			if s.Error != "" {
				detail += ": " + short(s.Error)
			}
			return NotEnforced, detail
		}
		return Enforced, ""
	case TempFiles:
		t := pr.TempFile
		switch {
		case t.Path == "":
			return NotEnforced, "tempnam failed in sys_temp_dir " + t.SysTempDir + ": " + short(t.Error)
		case path.Dir(t.Path) != o.Tmp:
			return NotEnforced, "tempnam made " + t.Path
		}
		return Enforced, ""
	}
	return NotEnforced, "unknown promise"
}

func judgeRead(r ProbeRead, what string) (Status, string) {
	if r.Read {
		return NotEnforced, "PHP read " + what
	}
	return Enforced, what + ": " + short(r.Error)
}

func judgeFunctions(vp VhostPlan, pr *ProbeOutput) (Status, string) {
	if len(vp.Functions) == 0 {
		return Skipped, "the vhost disables no function"
	}
	var callable, vhostOnly []string
	for _, f := range vp.Functions {
		exists, asked := pr.Functions[f]
		if exists || !asked {
			callable = append(callable, f)
			if slices.Contains(vp.VhostOnly, f) {
				vhostOnly = append(vhostOnly, f)
			}
		}
	}
	if len(callable) == 0 {
		return Enforced, fmt.Sprintf("%d of %d gone", len(vp.Functions), len(vp.Functions))
	}
	detail := "still callable: " + strings.Join(callable, ", ")
	if len(vhostOnly) > 0 {
		detail += fmt.Sprintf("; %s set only by the vhost's php_admin_value", strings.Join(vhostOnly, ", "))
		listed := slices.ContainsFunc(vhostOnly, func(f string) bool {
			return slices.Contains(strings.Split(strings.ToLower(pr.IniDisable), ","), f)
		})
		if listed {
			detail += ", which ini_get shows and this PHP does not enforce (php-src GH-19018)"
		}
	}
	return NotEnforced, detail
}

func judgeSymlink(vp VhostPlan, o Observed) (Status, string) {
	switch {
	case vp.Other == "":
		return Skipped, "no other account has a vhost"
	case o.SymlinkErr != "":
		return NotEnforced, o.SymlinkErr
	case o.SymlinkServed:
		return NotEnforced, fmt.Sprintf("Apache served %s's file through a link in the docroot (HTTP %d)", vp.Other, o.SymlinkStatus)
	}
	return Enforced, fmt.Sprintf("HTTP %d", o.SymlinkStatus)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// short makes a PHP warning fit a report line: open_basedir refusals
// become one phrase, anything else is cut.
func short(msg string) string {
	switch {
	case msg == "":
		return "no warning"
	case strings.Contains(msg, "open_basedir restriction in effect"):
		return "refused by open_basedir"
	case len(msg) > 160:
		return msg[:160] + "..."
	}
	return msg
}
