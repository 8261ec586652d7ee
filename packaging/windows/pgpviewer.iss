; Inno Setup 6 script: pgpviewer-<version>-windows-<arch>-setup.exe from dist\pgpviewer\.
;
; Normally run by `python packaging\build.py`, which passes the /D defines below. By hand, from
; the repository root after building the bundle:
;   iscc /DAppVersion=0.1.0 packaging\windows\pgpviewer.iss
;
; Installs per user by default (no administrator rights needed; the installer offers an
; all-users install), a Start-menu entry, an optional desktop icon, and registers pgpviewer
; for .tif/.tiff files. Windows matches only the last extension, so .ome.tif and .ome.tiff
; files are covered by .tif/.tiff. pgpviewer is added to the files' "Open with" list; it does
; not take over the default app (Windows asks the user for that).
; Silent install (CI, IT departments):
;   pgpviewer-...-setup.exe /VERYSILENT /SUPPRESSMSGBOXES /NORESTART /CURRENTUSER /DIR="C:\pgpviewer"

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\pgpviewer"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif
#ifndef Arch
  #define Arch "x64"
#endif
#ifndef OutputBaseFilename
  #define OutputBaseFilename "pgpviewer-" + AppVersion + "-windows-" + Arch + "-setup"
#endif
#ifndef IconFile
  #define IconFile "..\..\resources\icons\pgpviewer.ico"
#endif
#if Arch == "arm64"
  #define ArchAllowed "arm64"
#else
  ; also Windows 11 on ARM, through its x64 emulation
  #define ArchAllowed "x64compatible"
#endif
#define AppExe "pgpviewer.exe"
#define ProgId "pgpviewer.tiff"

[Setup]
; AppId identifies the app for upgrades and uninstall: never change it.
AppId={{6674D453-39BA-4088-9972-9284D64078BF}
AppName=pgpviewer
AppVersion={#AppVersion}
AppVerName=pgpviewer {#AppVersion}
AppPublisher=pgpviewer developers
AppComments=Measure P-glycoprotein transfer between cells in fluorescence microscopy images
DefaultDirName={autopf}\pgpviewer
DefaultGroupName=pgpviewer
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog commandline
ArchitecturesAllowed={#ArchAllowed}
ArchitecturesInstallIn64BitMode={#ArchAllowed}
OutputDir={#OutputDir}
OutputBaseFilename={#OutputBaseFilename}
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName=pgpviewer {#AppVersion}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=yes
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "associate"; Description: "Offer pgpviewer for TIFF and OME-TIFF images (.tif, .tiff, .ome.tif)"; GroupDescription: "File types:"

[InstallDelete]
; An upgrade replaces the whole bundle: no stale libraries from an older version.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\pgpviewer"; Filename: "{app}\{#AppExe}"; Comment: "P-glycoprotein transfer analysis"
Name: "{autoprograms}\pgpviewer self-test"; Filename: "{app}\pgpviewer-cli.exe"; Parameters: "--self-test"; Comment: "Check this installation (opens a console)"
Name: "{autodesktop}\pgpviewer"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; HKA = the current user's classes for a per-user install, the machine's for an all-users one.
Root: HKA; Subkey: "Software\Classes\{#ProgId}"; ValueType: string; ValueName: ""; ValueData: "TIFF image (pgpviewer)"; Flags: uninsdeletekey; Tasks: associate
Root: HKA; Subkey: "Software\Classes\{#ProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"; Tasks: associate
Root: HKA; Subkey: "Software\Classes\{#ProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" open ""%1"""; Tasks: associate
Root: HKA; Subkey: "Software\Classes\.tif\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue; Tasks: associate
Root: HKA; Subkey: "Software\Classes\.tiff\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue; Tasks: associate
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}"; ValueType: string; ValueName: "FriendlyAppName"; ValueData: "pgpviewer"; Flags: uninsdeletekey; Tasks: associate
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".tif"; ValueData: ""; Tasks: associate
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".tiff"; ValueData: ""; Tasks: associate
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" open ""%1"""; Tasks: associate

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,pgpviewer}"; Flags: nowait postinstall skipifsilent
