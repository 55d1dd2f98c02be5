//! Typed flags for every API call, numbered exactly as libvirt's enums. Drivers
//! receive the raw `u32` bits (they cross the wire unchanged) and reject unknown bits.

use bitflags::bitflags;

macro_rules! flags {
    ($(#[$($m:tt)*])* $name:ident { $($(#[$($fm:tt)*])* $f:ident = $v:expr;)* }) => {
        bitflags! {
            $(#[$($m)*])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
            pub struct $name: u32 { $($(#[$($fm)*])* const $f = $v;)* }
        }
    };
}

flags!(
    /// `virConnectListAllDomainsFlags`.
    ListDomainsFlags {
        /// VIR_CONNECT_LIST_DOMAINS_ACTIVE
        ACTIVE = 1 << 0;
        /// VIR_CONNECT_LIST_DOMAINS_INACTIVE
        INACTIVE = 1 << 1;
        /// VIR_CONNECT_LIST_DOMAINS_PERSISTENT
        PERSISTENT = 1 << 2;
        /// VIR_CONNECT_LIST_DOMAINS_TRANSIENT
        TRANSIENT = 1 << 3;
        /// VIR_CONNECT_LIST_DOMAINS_RUNNING
        RUNNING = 1 << 4;
        /// VIR_CONNECT_LIST_DOMAINS_PAUSED
        PAUSED = 1 << 5;
        /// VIR_CONNECT_LIST_DOMAINS_SHUTOFF
        SHUTOFF = 1 << 6;
        /// VIR_CONNECT_LIST_DOMAINS_OTHER
        OTHER = 1 << 7;
        /// VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE
        MANAGEDSAVE = 1 << 8;
        /// VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE
        NO_MANAGEDSAVE = 1 << 9;
        /// VIR_CONNECT_LIST_DOMAINS_AUTOSTART
        AUTOSTART = 1 << 10;
        /// VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART
        NO_AUTOSTART = 1 << 11;
        /// VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT
        HAS_SNAPSHOT = 1 << 12;
        /// VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT
        NO_SNAPSHOT = 1 << 13;
        /// VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT
        HAS_CHECKPOINT = 1 << 14;
        /// VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT
        NO_CHECKPOINT = 1 << 15;
    }
);

flags!(
    /// `virDomainXMLFlags`.
    DomainXmlFlags {
        /// VIR_DOMAIN_XML_SECURE
        SECURE = 1 << 0;
        /// VIR_DOMAIN_XML_INACTIVE
        INACTIVE = 1 << 1;
        /// VIR_DOMAIN_XML_UPDATE_CPU
        UPDATE_CPU = 1 << 2;
        /// VIR_DOMAIN_XML_MIGRATABLE
        MIGRATABLE = 1 << 3;
    }
);

flags!(
    /// `virDomainDefineFlags`.
    DomainDefineFlags {
        /// VIR_DOMAIN_DEFINE_VALIDATE
        VALIDATE = 1 << 0;
    }
);

flags!(
    /// `virDomainUndefineFlagsValues`.
    DomainUndefineFlags {
        /// VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
        MANAGED_SAVE = 1 << 0;
        /// VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        SNAPSHOTS_METADATA = 1 << 1;
        /// VIR_DOMAIN_UNDEFINE_NVRAM
        NVRAM = 1 << 2;
        /// VIR_DOMAIN_UNDEFINE_KEEP_NVRAM
        KEEP_NVRAM = 1 << 3;
        /// VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
        CHECKPOINTS_METADATA = 1 << 4;
        /// VIR_DOMAIN_UNDEFINE_TPM
        TPM = 1 << 5;
        /// VIR_DOMAIN_UNDEFINE_KEEP_TPM
        KEEP_TPM = 1 << 6;
    }
);

flags!(
    /// `virDomainCreateFlags`.
    DomainCreateFlags {
        /// VIR_DOMAIN_START_PAUSED
        START_PAUSED = 1 << 0;
        /// VIR_DOMAIN_START_AUTODESTROY
        AUTODESTROY = 1 << 1;
        /// VIR_DOMAIN_START_BYPASS_CACHE
        BYPASS_CACHE = 1 << 2;
        /// VIR_DOMAIN_START_FORCE_BOOT
        FORCE_BOOT = 1 << 3;
        /// VIR_DOMAIN_START_VALIDATE
        VALIDATE = 1 << 4;
        /// VIR_DOMAIN_START_RESET_NVRAM
        RESET_NVRAM = 1 << 5;
    }
);

flags!(
    /// `virDomainDestroyFlagsValues`.
    DomainDestroyFlags {
        /// VIR_DOMAIN_DESTROY_GRACEFUL
        GRACEFUL = 1 << 0;
    }
);

flags!(
    /// `virDomainShutdownFlagValues`.
    DomainShutdownFlags {
        /// VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN
        ACPI_POWER_BTN = 1 << 0;
        /// VIR_DOMAIN_SHUTDOWN_GUEST_AGENT
        GUEST_AGENT = 1 << 1;
        /// VIR_DOMAIN_SHUTDOWN_INITCTL
        INITCTL = 1 << 2;
        /// VIR_DOMAIN_SHUTDOWN_SIGNAL
        SIGNAL = 1 << 3;
        /// VIR_DOMAIN_SHUTDOWN_PARAVIRT
        PARAVIRT = 1 << 4;
    }
);

flags!(
    /// `virDomainRebootFlagValues`.
    DomainRebootFlags {
        /// VIR_DOMAIN_REBOOT_ACPI_POWER_BTN
        ACPI_POWER_BTN = 1 << 0;
        /// VIR_DOMAIN_REBOOT_GUEST_AGENT
        GUEST_AGENT = 1 << 1;
        /// VIR_DOMAIN_REBOOT_INITCTL
        INITCTL = 1 << 2;
        /// VIR_DOMAIN_REBOOT_SIGNAL
        SIGNAL = 1 << 3;
        /// VIR_DOMAIN_REBOOT_PARAVIRT
        PARAVIRT = 1 << 4;
    }
);

flags!(
    /// `virDomainSaveRestoreFlags`.
    DomainSaveRestoreFlags {
        /// VIR_DOMAIN_SAVE_BYPASS_CACHE
        BYPASS_CACHE = 1 << 0;
        /// VIR_DOMAIN_SAVE_RUNNING
        RUNNING = 1 << 1;
        /// VIR_DOMAIN_SAVE_PAUSED
        PAUSED = 1 << 2;
        /// VIR_DOMAIN_SAVE_RESET_NVRAM
        RESET_NVRAM = 1 << 3;
    }
);

flags!(
    /// `virDomainModificationImpact` plus the memory/vcpu extras
    /// (`VIR_DOMAIN_MEM_MAXIMUM` / `VIR_DOMAIN_VCPU_MAXIMUM` = 4, `VIR_DOMAIN_VCPU_GUEST` = 8,
    /// `VIR_DOMAIN_VCPU_HOTPLUGGABLE` = 16).
    DomainModFlags {
        /// VIR_DOMAIN_AFFECT_LIVE
        LIVE = 1 << 0;
        /// VIR_DOMAIN_AFFECT_CONFIG
        CONFIG = 1 << 1;
        /// VIR_DOMAIN_MEM_MAXIMUM / VIR_DOMAIN_VCPU_MAXIMUM
        MAXIMUM = 1 << 2;
        /// VIR_DOMAIN_VCPU_GUEST
        GUEST = 1 << 3;
        /// VIR_DOMAIN_VCPU_HOTPLUGGABLE
        HOTPLUGGABLE = 1 << 4;
    }
);

flags!(
    /// `virDomainSnapshotCreateFlags`.
    SnapshotCreateFlags {
        /// VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE
        REDEFINE = 1 << 0;
        /// VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT
        CURRENT = 1 << 1;
        /// VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA
        NO_METADATA = 1 << 2;
        /// VIR_DOMAIN_SNAPSHOT_CREATE_HALT
        HALT = 1 << 3;
        /// VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY
        DISK_ONLY = 1 << 4;
        /// VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT
        REUSE_EXT = 1 << 5;
        /// VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE
        QUIESCE = 1 << 6;
        /// VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC
        ATOMIC = 1 << 7;
        /// VIR_DOMAIN_SNAPSHOT_CREATE_LIVE
        LIVE = 1 << 8;
        /// VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE
        VALIDATE = 1 << 9;
    }
);

flags!(
    /// `virDomainSnapshotListFlags`.
    SnapshotListFlags {
        /// VIR_DOMAIN_SNAPSHOT_LIST_ROOTS / _DESCENDANTS
        ROOTS = 1 << 0;
        /// VIR_DOMAIN_SNAPSHOT_LIST_METADATA
        METADATA = 1 << 1;
        /// VIR_DOMAIN_SNAPSHOT_LIST_LEAVES
        LEAVES = 1 << 2;
        /// VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES
        NO_LEAVES = 1 << 3;
        /// VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA
        NO_METADATA = 1 << 4;
        /// VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE
        INACTIVE = 1 << 5;
        /// VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE
        ACTIVE = 1 << 6;
        /// VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY
        DISK_ONLY = 1 << 7;
        /// VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL
        INTERNAL = 1 << 8;
        /// VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL
        EXTERNAL = 1 << 9;
        /// VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL
        TOPOLOGICAL = 1 << 10;
    }
);

flags!(
    /// `virDomainSnapshotRevertFlags`.
    SnapshotRevertFlags {
        /// VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING
        RUNNING = 1 << 0;
        /// VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED
        PAUSED = 1 << 1;
        /// VIR_DOMAIN_SNAPSHOT_REVERT_FORCE
        FORCE = 1 << 2;
        /// VIR_DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM
        RESET_NVRAM = 1 << 3;
    }
);

flags!(
    /// `virDomainSnapshotDeleteFlags`.
    SnapshotDeleteFlags {
        /// VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN
        CHILDREN = 1 << 0;
        /// VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY
        METADATA_ONLY = 1 << 1;
        /// VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY
        CHILDREN_ONLY = 1 << 2;
    }
);

flags!(
    /// `virConnectListAllNetworksFlags`.
    ListNetworksFlags {
        /// VIR_CONNECT_LIST_NETWORKS_INACTIVE
        INACTIVE = 1 << 0;
        /// VIR_CONNECT_LIST_NETWORKS_ACTIVE
        ACTIVE = 1 << 1;
        /// VIR_CONNECT_LIST_NETWORKS_PERSISTENT
        PERSISTENT = 1 << 2;
        /// VIR_CONNECT_LIST_NETWORKS_TRANSIENT
        TRANSIENT = 1 << 3;
        /// VIR_CONNECT_LIST_NETWORKS_AUTOSTART
        AUTOSTART = 1 << 4;
        /// VIR_CONNECT_LIST_NETWORKS_NO_AUTOSTART
        NO_AUTOSTART = 1 << 5;
    }
);

flags!(
    /// `virConnectListAllStoragePoolsFlags` (state bits; the pool-type bits from
    /// 1 << 6 on pass through unchanged).
    ListPoolsFlags {
        /// VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE
        INACTIVE = 1 << 0;
        /// VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE
        ACTIVE = 1 << 1;
        /// VIR_CONNECT_LIST_STORAGE_POOLS_PERSISTENT
        PERSISTENT = 1 << 2;
        /// VIR_CONNECT_LIST_STORAGE_POOLS_TRANSIENT
        TRANSIENT = 1 << 3;
        /// VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART
        AUTOSTART = 1 << 4;
        /// VIR_CONNECT_LIST_STORAGE_POOLS_NO_AUTOSTART
        NO_AUTOSTART = 1 << 5;
        /// Pool-type filter bits (dir, fs, netfs, logical, disk, iscsi, scsi, mpath,
        /// rbd, sheepdog, gluster, zfs, vstorage, iscsi-direct).
        TYPES = 0x000F_FFC0;
    }
);

flags!(
    /// `virStorageVolCreateFlags`.
    VolCreateFlags {
        /// VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA
        PREALLOC_METADATA = 1 << 0;
        /// VIR_STORAGE_VOL_CREATE_REFLINK
        REFLINK = 1 << 1;
        /// VIR_STORAGE_VOL_CREATE_VALIDATE
        VALIDATE = 1 << 2;
    }
);

flags!(
    /// `virStorageVolDeleteFlags`.
    VolDeleteFlags {
        /// VIR_STORAGE_VOL_DELETE_ZEROED
        ZEROED = 1 << 0;
        /// VIR_STORAGE_VOL_DELETE_WITH_SNAPSHOTS
        WITH_SNAPSHOTS = 1 << 1;
    }
);

flags!(
    /// `virStorageVolResizeFlags`.
    VolResizeFlags {
        /// VIR_STORAGE_VOL_RESIZE_ALLOCATE
        ALLOCATE = 1 << 0;
        /// VIR_STORAGE_VOL_RESIZE_DELTA
        DELTA = 1 << 1;
        /// VIR_STORAGE_VOL_RESIZE_SHRINK
        SHRINK = 1 << 2;
    }
);

flags!(
    /// `virStorageVolUploadFlags`.
    VolUploadFlags {
        /// VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM
        SPARSE_STREAM = 1 << 0;
    }
);

flags!(
    /// `virDomainConsoleFlags` (`virDomainOpenConsole`).
    DomainConsoleFlags {
        /// VIR_DOMAIN_CONSOLE_FORCE: take the console over from another session.
        FORCE = 1 << 0;
        /// VIR_DOMAIN_CONSOLE_SAFE: only with exclusive access (always the case here).
        SAFE = 1 << 1;
    }
);

flags!(
    /// `virDomainOpenGraphicsFlags` (`virDomainOpenGraphics`, `virDomainOpenGraphicsFD`).
    DomainOpenGraphicsFlags {
        /// VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH: the new client skips authentication.
        SKIPAUTH = 1 << 0;
    }
);

flags!(
    /// `virDomainFDAssociateFlags` (`virDomainFDAssociate`).
    DomainFdAssociateFlags {
        /// VIR_DOMAIN_FD_ASSOCIATE_SECLABEL_RESTORE: restore the security label after use.
        SECLABEL_RESTORE = 1 << 0;
        /// VIR_DOMAIN_FD_ASSOCIATE_SECLABEL_WRITABLE: label the fds for writing.
        SECLABEL_WRITABLE = 1 << 1;
    }
);

flags!(
    /// `virStorageVolDownloadFlags`.
    VolDownloadFlags {
        /// VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM
        SPARSE_STREAM = 1 << 0;
    }
);

flags!(
    /// `virStoragePoolBuildFlags` / `virStoragePoolDeleteFlags` share these bits.
    PoolBuildFlags {
        /// VIR_STORAGE_POOL_BUILD_REPAIR
        REPAIR = 1 << 0;
        /// VIR_STORAGE_POOL_BUILD_RESIZE
        RESIZE = 1 << 1;
        /// VIR_STORAGE_POOL_BUILD_NO_OVERWRITE
        NO_OVERWRITE = 1 << 2;
        /// VIR_STORAGE_POOL_BUILD_OVERWRITE
        OVERWRITE = 1 << 3;
    }
);

flags!(
    /// `virConnectListAllSecretsFlags`.
    ListSecretsFlags {
        /// VIR_CONNECT_LIST_SECRETS_EPHEMERAL
        EPHEMERAL = 1 << 0;
        /// VIR_CONNECT_LIST_SECRETS_NO_EPHEMERAL
        NO_EPHEMERAL = 1 << 1;
        /// VIR_CONNECT_LIST_SECRETS_PRIVATE
        PRIVATE = 1 << 2;
        /// VIR_CONNECT_LIST_SECRETS_NO_PRIVATE
        NO_PRIVATE = 1 << 3;
    }
);

flags!(
    /// `virConnectListAllInterfacesFlags`.
    ListInterfacesFlags {
        /// VIR_CONNECT_LIST_INTERFACES_INACTIVE
        INACTIVE = 1 << 0;
        /// VIR_CONNECT_LIST_INTERFACES_ACTIVE
        ACTIVE = 1 << 1;
    }
);

flags!(
    /// `virInterfaceXMLFlags`.
    InterfaceXmlFlags {
        /// VIR_INTERFACE_XML_INACTIVE
        INACTIVE = 1 << 0;
    }
);

flags!(
    /// `virNetworkXMLFlags`.
    NetworkXmlFlags {
        /// VIR_NETWORK_XML_INACTIVE
        INACTIVE = 1 << 0;
    }
);

flags!(
    /// `virConnectListAllNodeDeviceFlags`.
    ListNodeDevicesFlags {
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_SYSTEM
        CAP_SYSTEM = 1 << 0;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV
        CAP_PCI_DEV = 1 << 1;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_DEV
        CAP_USB_DEV = 1 << 2;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_INTERFACE
        CAP_USB_INTERFACE = 1 << 3;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET
        CAP_NET = 1 << 4;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_HOST
        CAP_SCSI_HOST = 1 << 5;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_TARGET
        CAP_SCSI_TARGET = 1 << 6;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI
        CAP_SCSI = 1 << 7;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_STORAGE
        CAP_STORAGE = 1 << 8;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_FC_HOST
        CAP_FC_HOST = 1 << 9;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_VPORTS
        CAP_VPORTS = 1 << 10;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_GENERIC
        CAP_SCSI_GENERIC = 1 << 11;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_DRM
        CAP_DRM = 1 << 12;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV_TYPES
        CAP_MDEV_TYPES = 1 << 13;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV
        CAP_MDEV = 1 << 14;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_CCW_DEV
        CAP_CCW_DEV = 1 << 15;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_CSS_DEV
        CAP_CSS_DEV = 1 << 16;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_VDPA
        CAP_VDPA = 1 << 17;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_AP_CARD
        CAP_AP_CARD = 1 << 18;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_AP_QUEUE
        CAP_AP_QUEUE = 1 << 19;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_AP_MATRIX
        CAP_AP_MATRIX = 1 << 20;
        /// VIR_CONNECT_LIST_NODE_DEVICES_CAP_VPD
        CAP_VPD = 1 << 21;
        /// VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE
        INACTIVE = 1 << 30;
        /// VIR_CONNECT_LIST_NODE_DEVICES_ACTIVE
        ACTIVE = 1 << 31;
    }
);

flags!(
    /// `virConnectFlags` for opening a connection.
    OpenFlags {
        /// VIR_CONNECT_RO
        READ_ONLY = 1 << 0;
        /// VIR_CONNECT_NO_ALIASES
        NO_ALIASES = 1 << 1;
    }
);
